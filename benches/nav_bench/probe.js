// djust-nav-bench's probe, added to every page of the benchmarked app (and
// only there). It stamps `window.__navbench` with the moment a page is
// painted and interactive: after a full load, the first frame after the
// live view's socket mounted it (`data-djust-status="connected"`: events
// work from then on); after a live navigation, the first frame after the
// new view's HTML was applied (`djust:navigated`; the socket was already
// open). Times are absolute (timeOrigin + now), so a full load can be
// measured from a click made on the page before it.
(() => {
  'use strict';
  const now = () => performance.timeOrigin + performance.now();
  // rAF runs before the next paint; the timeout after it, once painted.
  const mark = (kind) => requestAnimationFrame(() => setTimeout(() => {
    window.__navbench = { kind, at: now() };
  }, 0));
  const root = document.querySelector('[data-djust-view]');
  if (!root) return;
  const connected = () => root.dataset.djustStatus === 'connected';
  if (connected()) {
    mark('load');
  } else {
    const observer = new MutationObserver(() => {
      if (connected()) { observer.disconnect(); mark('load'); }
    });
    observer.observe(root, { attributes: true, attributeFilter: ['data-djust-status'] });
  }
  document.addEventListener('djust:navigated', () => mark('live'));
})();
