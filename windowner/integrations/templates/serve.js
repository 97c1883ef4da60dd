(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var labels = [], tagged = 0;
  function colour(label) { var i = labels.indexOf(label); return 'c' + (i < 0 ? 7 : i % 8); }
  function hiddenLabels() {
    var off = {};
    document.querySelectorAll('#labels input').forEach(function (box) { if (!box.checked) off[box.dataset.label] = true; });
    return off;
  }
  function filter() {
    var t = parseFloat($('threshold').value), off = hiddenLabels(), shown = 0, all = 0;
    $('threshold-value').textContent = t.toFixed(2);
    document.querySelectorAll('#result .ent').forEach(function (m) {
      var visible = !off[m.dataset.label] && parseFloat(m.dataset.score) >= t;
      m.classList.toggle('off', !visible);
      all += 1; shown += visible ? 1 : 0;
    });
    $('summary').textContent = all ? shown + ' of ' + all + ' entities shown' : '';
  }
  function render(doc) {
    var out = $('result'), chars = Array.from(doc.text), at = 0;  // offsets count code points, as in Python
    out.replaceChildren();
    doc.ents.forEach(function (e) {
      out.append(chars.slice(at, e.start_char).join(''));
      var m = document.createElement('mark'), badge = document.createElement('span');
      m.className = 'ent ' + colour(e.label);
      m.dataset.label = e.label; m.dataset.start = e.start_char; m.dataset.end = e.end_char; m.dataset.score = e.score;
      m.title = e.label + ', score ' + e.score.toFixed(3) + ', characters ' + e.start_char + '–' + e.end_char;
      badge.className = 'badge';
      badge.textContent = e.label + ' ' + e.score.toFixed(2);
      m.append(chars.slice(e.start_char, e.end_char).join(''), badge);
      out.append(m);
      at = e.end_char;
    });
    out.append(chars.slice(at).join(''));
    filter();
  }
  function tag() {
    var button = $('tag-button');
    button.disabled = true; $('error').textContent = '';
    fetch('/tag', {method: 'POST', headers: {'Content-Type': 'application/json'},
                   body: JSON.stringify({text: $('text').value})})
      .then(function (r) { return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || r.statusText);
        return body; }); })
      .then(render)
      .catch(function (err) { $('error').textContent = 'Error: ' + err.message; })
      .finally(function () { button.disabled = false; tagged += 1; document.body.dataset.tagged = tagged; });
  }
  fetch('/health').then(function (r) { return r.json(); }).then(function (h) {
    labels = h.labels;
    $('meta').textContent = 'model ' + h.model + ' · labels ' + h.labels.join(', ') + ' · windowner ' + h.version;
    h.labels.forEach(function (label) {
      var box = document.createElement('input'), tagEl = document.createElement('label');
      box.type = 'checkbox'; box.checked = true; box.dataset.label = label;
      box.addEventListener('change', filter);
      var name = document.createElement('span');
      name.className = 'tag ' + colour(label); name.textContent = label;
      tagEl.append(box, ' ', name);
      $('labels').append(tagEl);
    });
    document.body.dataset.ready = 'yes';
  }).catch(function (err) { $('meta').textContent = 'could not reach /health: ' + err.message; });
  $('tag-button').addEventListener('click', tag);
  $('threshold').addEventListener('input', filter);
  $('text').addEventListener('keydown', function (ev) { if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) tag(); });
})();
