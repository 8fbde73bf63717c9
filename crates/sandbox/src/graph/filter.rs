//! The few OData `$filter` forms the sandbox answers: `tags/any(t:t eq 'v')`, `appId eq 'v'`,
//! `displayName eq 'v'`. Anything else is Graph's `Request_UnsupportedQuery`, never ignored
//! (an ignored filter would answer with everything and mislead a client looking for its own).

use super::GraphError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Filter {
    Tag(String),
    AppId(String),
    DisplayName(String),
}

impl Filter {
    pub(crate) fn parse(text: &str) -> Result<Self, GraphError> {
        let unsupported = || {
            GraphError::UnsupportedRequest(format!(
                "Unsupported or invalid query filter clause specified for property '{}' of resource.",
                text.split(['/', ' ']).next().unwrap_or(text)
            ))
        };
        let text = text.trim();
        if let Some(lambda) = text
            .strip_prefix("tags/any(")
            .and_then(|rest| rest.strip_suffix(')'))
        {
            let (variable, condition) = lambda.split_once(':').ok_or_else(unsupported)?;
            let value = equals(condition, variable.trim()).ok_or_else(unsupported)?;
            return Ok(Self::Tag(value));
        }
        if let Some(value) = equals(text, "appId") {
            return Ok(Self::AppId(value));
        }
        if let Some(value) = equals(text, "displayName") {
            return Ok(Self::DisplayName(value));
        }
        Err(unsupported())
    }
}

/// `<name> eq '<value>'` (OData doubles a quote inside a literal) → the value.
fn equals(condition: &str, name: &str) -> Option<String> {
    let rest = condition.trim().strip_prefix(name)?;
    let literal = rest.trim_start().strip_prefix("eq")?.trim();
    let inner = literal.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_tag_lambda_with_any_variable_name() {
        assert_eq!(
            Filter::parse("tags/any(t:t eq 'tenantlink:backup')").unwrap(),
            Filter::Tag("tenantlink:backup".into())
        );
        assert_eq!(
            Filter::parse("tags/any(x: x eq 'it''s')").unwrap(),
            Filter::Tag("it's".into())
        );
        assert_eq!(
            Filter::parse("appId eq '00000003-0000-0000-c000-000000000000'").unwrap(),
            Filter::AppId("00000003-0000-0000-c000-000000000000".into())
        );
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        assert!(Filter::parse("startswith(displayName,'a')").is_err());
        assert!(Filter::parse("tags/any(t:u eq 'a')").is_err());
        assert!(Filter::parse("appId ne 'a'").is_err());
    }
}
