"use strict";
// Follows the API's event stream and fetches this page again when the view changed, so the server renders every
// state the same way the first paint was rendered. Every URL is relative to the page: it works behind a path prefix.
(() => {
  const root = document.documentElement;
  const lost = document.getElementById("lost");
  const stale = document.getElementById("stale");
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
  // The stale banner is an alert outside the region replaced on each update: its text changes only when the
  // server's does, so that screen readers announce it once.
  let staleHTML = stale ? stale.innerHTML : "";
  localize(document);

  // The API's routes are siblings of the page: /prefix/ -> /prefix/events, also when the page is /prefix. The page
  // reads only the status and the list's content tag: a stream without the list, whatever the cluster's size.
  const base = new URL(location.href);
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  const query = root.dataset.query;
  const events = new URL("events?" + (query ? query + "&" : "") + "events=status,changed", base);

  // tag and status are the last the stream announced (at first, what the page was rendered from).
  let tag = root.dataset.tag;
  let status = root.dataset.status;
  let busy = false;
  let again = false;
  let streamDown = false;
  let fetchFailed = false;
  const showLost = () => {
    lost.hidden = !(streamDown || fetchFailed);
  };

  // The verdict of a status, without what differs between replicas holding the same data (the time each built its
  // snapshot, and its own contact with the API server).
  const verdict = (s) => {
    try {
      const o = JSON.parse(s);
      delete o.updated;
      delete o.stale;
      delete o.staleSince;
      return JSON.stringify(o);
    } catch {
      return s;
    }
  };
  // current tells whether a fetched page shows what the stream announced: behind a Service without session
  // affinity, the fetch may reach a replica that has not applied the change yet.
  const current = (doc) =>
    doc.documentElement.dataset.tag === tag && verdict(doc.documentElement.dataset.status) === verdict(status);
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  const swap = (doc) => {
    const next = doc.getElementById("live");
    const state = doc.getElementById("state");
    if (!next || !state) return;
    const nextStale = doc.getElementById("stale");
    if (stale && nextStale && (nextStale.innerHTML !== staleHTML || nextStale.hidden !== stale.hidden)) {
      staleHTML = nextStale.innerHTML;
      stale.innerHTML = staleHTML;
      localize(stale);
      stale.hidden = nextStale.hidden;
    }
    localize(next);
    document.getElementById("live").replaceWith(next);
    const cur = document.getElementById("state");
    cur.className = state.className;
    if (cur.textContent !== state.textContent) cur.textContent = state.textContent; // announced: aria-live
    document.title = doc.title;
  };

  // refresh fetches the page once at a time; changes arriving meanwhile fetch it once more afterwards. A page older
  // than the stream's last event is fetched again, every 200 ms for up to 2 seconds, then shown as it is.
  const refresh = async () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        const deadline = Date.now() + 2000;
        let doc;
        for (;;) {
          const resp = await fetch(location.href, { cache: "no-store", headers: { Accept: "text/html" } });
          if (!resp.ok) {
            // The ServiceChecker is gone (404) or the replica is not synced (503): never keep the last verdict.
            location.reload();
            return;
          }
          doc = new DOMParser().parseFromString(await resp.text(), "text/html");
          if (again || current(doc) || Date.now() >= deadline) break;
          await sleep(200);
        }
        swap(doc);
        fetchFailed = false;
        showLost();
      } while (again);
    } catch {
      fetchFailed = true;
      showLost();
    } finally {
      busy = false;
    }
  };

  let retry = 1000;
  const connect = () => {
    const es = new EventSource(events);
    es.onopen = () => {
      retry = 1000;
      if (streamDown) {
        streamDown = false;
        showLost();
        refresh(); // changes may have happened while the stream was lost
      }
    };
    es.addEventListener("changed", (e) => {
      if (e.data !== tag) {
        tag = e.data;
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
      streamDown = true;
      showLost();
      if (es.readyState === EventSource.CLOSED) {
        // The browser gives up on an answer other than a stream (a 503 of a restarting replica): try again later.
        setTimeout(connect, retry);
        retry = Math.min(retry * 2, 30000);
      }
    });
  };
  connect();
})();
