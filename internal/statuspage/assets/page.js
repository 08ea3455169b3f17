"use strict";
// Follows the API's event stream and fetches this page again when the view changed, so the server renders every
// state the same way the first paint was rendered. Every URL is relative to the page: it works behind a path prefix.
(() => {
  const root = document.documentElement;
  const lost = document.getElementById("lost");
  const fmt = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
  });
  // Times arrive in UTC; show them in the viewer's own time zone, the UTC text as a tooltip.
  const localize = (el) => {
    for (const t of el.querySelectorAll("time[datetime]")) {
      const d = new Date(t.dateTime);
      if (!isNaN(d)) {
        t.title = t.textContent;
        t.textContent = fmt.format(d);
      }
    }
  };
  localize(document);

  // The API's routes are siblings of the page: /prefix/ -> /prefix/events, also when the page is /prefix.
  const base = new URL(location.href);
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  const query = root.dataset.query;
  const events = new URL("events" + (query ? "?" + query : ""), base);

  let version = root.dataset.version;
  let status = root.dataset.status;
  let busy = false;
  let again = false;

  const swap = (doc) => {
    const next = doc.getElementById("live");
    const state = doc.getElementById("state");
    if (!next || !state) return;
    localize(next);
    document.getElementById("live").replaceWith(next);
    const cur = document.getElementById("state");
    cur.className = state.className;
    if (cur.textContent !== state.textContent) cur.textContent = state.textContent; // announced: aria-live
    document.title = doc.title;
  };

  // refresh fetches the page once at a time; changes arriving meanwhile fetch it once more afterwards.
  const refresh = async () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        const resp = await fetch(location.href, { cache: "no-store", headers: { Accept: "text/html" } });
        if (!resp.ok) {
          // The ServiceChecker is gone (404) or the replica is not synced (503): never keep the last verdict.
          location.reload();
          return;
        }
        swap(new DOMParser().parseFromString(await resp.text(), "text/html"));
      } while (again);
    } catch {
      lost.hidden = false;
    } finally {
      busy = false;
    }
  };

  let retry = 1000;
  const connect = () => {
    const es = new EventSource(events);
    es.onopen = () => {
      retry = 1000;
      if (!lost.hidden) {
        lost.hidden = true;
        refresh(); // changes may have happened while the stream was lost
      }
    };
    es.addEventListener("services", (e) => {
      if (e.lastEventId !== version) {
        version = e.lastEventId;
        refresh();
      }
    });
    es.addEventListener("status", (e) => {
      if (e.data !== status) {
        status = e.data;
        refresh();
      }
    });
    es.addEventListener("error", (e) => {
      if (e.data) refresh(); // the server's own error event: the ServiceChecker is gone
      lost.hidden = false;
      if (es.readyState === EventSource.CLOSED) {
        // The browser gives up on an answer other than a stream (a 503 of a restarting replica): try again later.
        setTimeout(connect, retry);
        retry = Math.min(retry * 2, 30000);
      }
    });
  };
  connect();
})();
