// Refreshes the status page in place every 10 s: fetches this page again and
// swaps <main id="content"> for the new one, so the reader keeps their
// scroll position. Skipped while the tab is hidden; a failure is shown in the
// note under the heading and the next try follows as usual.
(() => {
  const EVERY_MS = 10000;
  const note = document.getElementById("refresh-note");
  const say = (text) => { if (note) note.textContent = text; };
  say("Updates every 10 seconds.");
  async function refresh() {
    if (document.hidden) return;
    try {
      const response = await fetch(location.pathname, { cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      const main = fresh.getElementById("content");
      if (!main) throw new Error("the answer was not the status page");
      document.getElementById("content").replaceWith(document.adoptNode(main));
      document.title = fresh.title;
      say("Updates every 10 seconds; last update " + new Date().toLocaleTimeString() + ".");
    } catch (e) {
      say("Could not update (" + e.message + "); trying again in 10 seconds.");
    }
  }
  // One request at a time: the next waits for the previous to finish.
  const loop = async () => { await refresh(); setTimeout(loop, EVERY_MS); };
  setTimeout(loop, EVERY_MS);
})();
