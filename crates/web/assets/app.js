// Progressive enhancement only: the copy button, the countdown, the live sign-in status and the
// live status of a running backup run.
// Every page works without this file (the status page reloads itself through <noscript>).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(button.dataset.copy);
        button.textContent = "Copied";
      } catch {
        button.textContent = "Select the code and copy it";
      }
    });
  }

  const countdown = document.getElementById("countdown");
  if (countdown) {
    const expiresAt = Date.parse(countdown.dataset.expiresAt);
    const tick = () => {
      const left = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
      countdown.textContent = `${Math.floor(left / 60)} min ${left % 60} s`;
    };
    tick();
    setInterval(tick, 1000);
  }

  const operation = document.getElementById("operation");
  // Steps a background task moves on from; each new step reloads the page, which marks the
  // steps of `#connect-steps` / `#rotate-steps` done as they progress.
  const liveSteps = [
    "awaiting_sign_in",
    "application_created",
    "service_principal_created",
    "permissions_granted",
    "owner_added",
    "certificate_stored",
    "key_added",
    "attached",
  ];
  // `data-working`: signed in, and Generate / Import running on the service's background task.
  if (operation && (liveSteps.includes(operation.dataset.step) || operation.dataset.working === "true")) {
    const status = document.getElementById("sign-in-status");
    const poll = async () => {
      try {
        const response = await fetch(`/api/v1/operations/${operation.dataset.operationId}`, {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        });
        if (!response.ok) return;
        const current = await response.json();
        if (current.step !== operation.dataset.step) {
          window.location.reload();
        } else if (status && current.step === "awaiting_sign_in") {
          status.textContent = "Waiting for the sign-in… (checked " + new Date().toLocaleTimeString() + ")";
        }
      } catch {
        if (status) status.textContent = "Cannot reach tenantlink; retrying…";
      }
    };
    setInterval(poll, 3000);
  }

  const run = document.getElementById("run");
  if (run && run.dataset.status === "running") {
    const poll = async () => {
      try {
        const response = await fetch(`/api/v1/runs/${run.dataset.runId}`, {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        });
        if (!response.ok) return;
        const current = await response.json();
        if (current.run.status !== "running") window.location.reload();
      } catch {
        // Next poll retries.
      }
    };
    setInterval(poll, 2000);
  }
});
