// The console's one script. Every page works without it; with it:
// - a form with data-inline="<id>" is sent in the background (X-Console-Fragment: 1) and the
//   answer (an HTML fragment the server escaped) is put into the element of that id;
// - a form or button with data-confirm="<question>" asks before it is sent;
// - a file input with data-into="<id>" reads the chosen file into the textarea of that id.
(function () {
  'use strict';
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    var ask = form.getAttribute('data-confirm') || (ev.submitter && ev.submitter.getAttribute('data-confirm'));
    if (ask && !window.confirm(ask)) { ev.preventDefault(); return; }
    var into = form.getAttribute('data-inline');
    if (!into || !window.fetch) return;
    var out = document.getElementById(into);
    if (!out) return;
    ev.preventDefault();
    var button = ev.submitter || form.querySelector('button');
    if (button) button.disabled = true;
    out.setAttribute('aria-busy', 'true');
    fetch(form.action, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'X-Console-Fragment': '1', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(new FormData(form)).toString()
    }).then(function (r) { return r.text(); }).then(function (html) {
      out.innerHTML = html;
    }).catch(function (e) {
      out.textContent = String(e);
    }).finally(function () {
      out.removeAttribute('aria-busy');
      if (button) button.disabled = false;
    });
  });
  document.addEventListener('change', function (ev) {
    var input = ev.target;
    var into = input.getAttribute && input.getAttribute('data-into');
    if (!into || !input.files || !input.files[0]) return;
    var reader = new FileReader();
    reader.onload = function () { var t = document.getElementById(into); if (t) t.value = reader.result; };
    reader.readAsText(input.files[0]);
  });
})();
