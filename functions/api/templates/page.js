(function () {
  var q = document.getElementById('q');
  function filter() {
    var text = (q.value || '').trim().toLowerCase();
    document.querySelectorAll('details.grp').forEach(function (d) {
      var any = false;
      d.querySelectorAll('li.target').forEach(function (li) {
        var hit = !text || li.getAttribute('data-q').indexOf(text) >= 0;
        li.hidden = !hit;
        any = any || hit;
      });
      d.hidden = !any;
      if (text && any) d.open = true;
    });
  }
  q.hidden = false;
  q.addEventListener('input', filter);
  // Every minute, the live part of the page is fetched and swapped in place: no reload, no
  // jump; the groups a reader opened or closed and the filter (outside the live parts) stay.
  setInterval(function () {
    if (document.visibilityState !== 'visible') return;
    fetch(location.href, { headers: { accept: 'text/html' } }).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (!html) return;
      var doc = new DOMParser().parseFromString(html, 'text/html');
      var next = doc.querySelectorAll('.live');
      var live = document.querySelectorAll('.live');
      if (next.length !== live.length) return;
      var open = {};
      document.querySelectorAll('details.grp').forEach(function (d) { open[d.getAttribute('data-g')] = d.open; });
      doc.querySelectorAll('details.grp').forEach(function (d) {
        var g = d.getAttribute('data-g');
        if (g in open) d.open = open[g];
      });
      live.forEach(function (part, i) { part.replaceWith(next[i]); });
      filter();
    }).catch(function () {});
  }, 60000);
})();
