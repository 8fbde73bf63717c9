//! The fleet view of the organizations page: counts per state (each a filter link), search and
//! state filter, the table in risk order, and a pager. Plain links and a GET form: no script.

use super::layout::time_text;
use maud::{Markup, html};
use tenantlink_service::ConnectionState;
use tenantlink_service::fleet::{FleetPage, FleetQuery, FleetRow, FleetState};

/// `/organizations` with the given filter, search and page (empty parts left out).
fn href(state: Option<FleetState>, search: Option<&str>, page: u32, per_page: u32) -> String {
    let mut parts = Vec::new();
    if let Some(state) = state {
        parts.push(format!("state={}", state.as_str()));
    }
    if let Some(search) = search {
        parts.push(format!("q={}", urlencode(search)));
    }
    if page > 1 {
        parts.push(format!("page={page}"));
    }
    if per_page != tenantlink_service::fleet::DEFAULT_PER_PAGE {
        parts.push(format!("per_page={per_page}"));
    }
    if parts.is_empty() {
        "/organizations".to_owned()
    } else {
        format!("/organizations?{}", parts.join("&"))
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn fleet_view(page: &FleetPage, query: &FleetQuery) -> Markup {
    let search = query.search.as_deref();
    html! {
        nav #fleet-counts .counts aria-label="Organizations by state" {
            a href=(href(None, search, 1, query.per_page))
                aria-current=[query.state.is_none().then_some("true")]
                data-state="all" data-count=(page.counts.fleet()) {
                "All " span.count { (page.counts.fleet()) }
            }
            @for (state, count) in page.counts.iter() {
                a href=(href(Some(state), search, 1, query.per_page))
                    aria-current=[(query.state == Some(state)).then_some("true")]
                    data-state=(state.as_str()) data-count=(count) {
                    (state.label()) " " span.count { (count) }
                }
            }
        }
        form.inline #fleet-search method="get" action="/organizations" role="search" {
            label for="q" { "Search" }
            input #q type="search" name="q" value=(search.unwrap_or_default())
                placeholder="Name or tenant";
            label for="state" { "State" }
            select #state name="state" {
                option value="" selected[query.state.is_none()] { "All states" }
                @for state in FleetState::ALL {
                    option value=(state.as_str()) selected[query.state == Some(state)] {
                        (state.label())
                    }
                }
            }
            button type="submit" { "Show" }
        }
        table #fleet {
            thead { tr {
                th { "Name" } th { "Tenant" } th { "State" } th { "Certificate" }
                th { "Renewal" } th { "Connection" } th { "Last backup" }
            } }
            tbody {
                @for row in &page.rows { (fleet_row(row)) }
                @if page.rows.is_empty() {
                    tr { td colspan="7" { "No organization matches." } }
                }
            }
        }
        (pager(page, query))
    }
}

fn fleet_row(row: &FleetRow) -> Markup {
    let o = &row.organization;
    html! {
        tr data-organization=(o.id) data-state=(row.state.as_str()) {
            td { a href={ "/organizations/" (o.id) } { (o.name) } }
            td { (o.tenant) }
            td.state { span.marker { (row.state.label()) } }
            td data-certificate=(row.certificate.as_str()) {
                (row.certificate.label())
                @if let (Some(days), Some(end)) = (row.days_left, row.valid_to) {
                    br;
                    small title=(time_text(end)) { (days_text(days)) }
                }
            }
            td data-renewal=(row.renewal.decision.as_str()) {
                (renewal_text(row))
                " " (super::banner::renewal_marker(&row.renewal))
            }
            td data-connection=(o.connection.as_str()) { (connection_label(o.connection)) }
            td {
                @match &row.last_backup {
                    Some(run) => { (run.status.as_str()) br; small { (time_text(run.started_at)) } }
                    None => { "None yet" }
                }
            }
        }
    }
}

fn days_text(days: i64) -> String {
    match days {
        d if d < 0 => format!("ended {} days ago", -d),
        1 => "1 day left".to_owned(),
        d => format!("{d} days left"),
    }
}

fn renewal_text(row: &FleetRow) -> String {
    let decision = &row.renewal.decision;
    let attempts = row.renewal.failed_attempts;
    match decision.next_renewal_at() {
        Some(at) if attempts > 0 => format!(
            "{attempts} failed {}; next attempt {}",
            if attempts == 1 { "attempt" } else { "attempts" },
            time_text(at)
        ),
        Some(at) => format!("Renews {}", time_text(at)),
        None => match decision.as_str() {
            "due" => "Due now".to_owned(),
            "disabled" => "Automatic renewal off".to_owned(),
            _ => String::new(),
        },
    }
}

fn pager(page: &FleetPage, query: &FleetQuery) -> Markup {
    let pages = page.pages();
    let link = |number| href(query.state, query.search.as_deref(), number, query.per_page);
    html! {
        nav #fleet-pager .pager aria-label="Pages" {
            @if page.page > 1 { a rel="prev" href=(link(page.page - 1)) { "Previous" } }
            span { "Page " (page.page) " of " (pages) " · " (page.total) " organizations" }
            @if page.page < pages { a rel="next" href=(link(page.page + 1)) { "Next" } }
        }
    }
}

pub fn connection_label(state: ConnectionState) -> &'static str {
    match state {
        ConnectionState::Connected => "Connected",
        ConnectionState::Broken => "Broken",
        ConnectionState::Unknown => "Not checked yet",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_the_filter_and_search_and_encode_the_search() {
        assert_eq!(href(None, None, 1, 50), "/organizations");
        assert_eq!(
            href(Some(FleetState::Expired), Some("a b&c"), 2, 50),
            "/organizations?state=expired&q=a%20b%26c&page=2"
        );
        assert_eq!(href(None, None, 1, 10), "/organizations?per_page=10");
    }
}
