(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  // task: {id, text, tokens: [{start, end}], ents}; spans: [{a, b, label, score}] with a..b inclusive token indices
  var labels = [], current = 0, task = null, spans = [], history = [], selected = -1, busy = false, acked = 0;
  var dragFrom = null;
  function colour(label) { var i = labels.indexOf(label); return 'c' + (i < 0 ? 7 : i % 8); }
  function copy(list) { return list.map(function (s) { return {a: s.a, b: s.b, label: s.label, score: s.score}; }); }
  function remember() { history.push({spans: copy(spans), selected: selected}); }
  function showError(message) { $('error').textContent = message ? 'Error: ' + message : ''; }
  function tokenAt(offset, key) {
    for (var i = 0; i < task.tokens.length; i++) if (task.tokens[i][key] === offset) return i;
    return -1;
  }
  function spanOf(i) {
    for (var k = 0; k < spans.length; k++) if (spans[k].a <= i && i <= spans[k].b) return k;
    return -1;
  }
  function renderLabels() {
    var box = $('labels');
    box.replaceChildren();
    labels.forEach(function (label, k) {
      var chip = document.createElement('span');
      chip.className = 'tag ' + colour(label) + (k === current ? ' current' : '');
      chip.dataset.label = label;
      chip.textContent = (k + 1) + ' ' + label;
      chip.addEventListener('click', function () { setLabel(k); });
      box.append(chip);
    });
  }
  function render() {
    var out = $('doc');
    out.replaceChildren();
    document.body.dataset.id = task && !task.done ? task.id : '';
    if (!task || task.done) {
      var done = document.createElement('p');
      done.id = 'done'; done.textContent = 'All texts are answered.';
      out.append(done);
      return;
    }
    var chars = Array.from(task.text), at = 0, mark = null;  // offsets count code points, as in Python
    spans.sort(function (x, y) { return x.a - y.a; });
    task.tokens.forEach(function (t, i) {
      var k = spanOf(i), host = mark || out;
      if (t.start > at) host.append(chars.slice(at, t.start).join(''));
      if (k >= 0 && spans[k].a === i) {
        mark = document.createElement('mark');
        mark.className = 'ent ' + colour(spans[k].label) + (k === selected ? ' selected' : '');
        mark.dataset.k = k; mark.dataset.label = spans[k].label;
        mark.dataset.start = task.tokens[spans[k].a].start; mark.dataset.end = task.tokens[spans[k].b].end;
        out.append(mark);
      }
      var tok = document.createElement('span');
      tok.className = 'tok'; tok.dataset.i = i;
      tok.textContent = chars.slice(t.start, t.end).join('');
      (k >= 0 ? mark : out).append(tok);
      at = t.end;
      if (k >= 0 && spans[k].b === i) {
        var badge = document.createElement('span'), s = spans[k];
        badge.className = 'badge';
        badge.textContent = s.label + (s.score === null ? '' : ' ' + s.score.toFixed(2));
        mark.append(badge);
        mark = null;
      }
    });
    out.append(chars.slice(at).join(''));
  }
  function load() {
    busy = true;
    return fetch('/next', {cache: 'no-store'}).then(json).then(function (t) {
      task = t; history = []; selected = -1;
      spans = t.done ? [] : t.ents.map(function (e) {
        return {a: tokenAt(e.start, 'start'), b: tokenAt(e.end, 'end'), label: e.label, score: e.score};
      }).filter(function (s) { return s.a >= 0 && s.b >= s.a; });
      showProgress(t.progress); render();
    }).catch(function (err) { showError(err.message); })
      .finally(function () { busy = false; document.body.dataset.ready = task && !task.done ? task.id : 'done'; });
  }
  function json(r) {
    return r.json().then(function (body) { if (!r.ok) throw new Error(body.error || r.statusText); return body; });
  }
  function showProgress(p) {
    $('progress').textContent = p.answered + ' of ' + p.total + ' answered (' + p.accepted + ' accepted, ' +
      p.skipped + ' skipped)';
  }
  function send(action) {
    if (busy || !task || task.done) return;
    busy = true; showError(''); document.body.dataset.ready = '';
    var body = {id: task.id, action: action};
    if (action === 'accept') body.spans = spans.map(function (s) {
      return {start: task.tokens[s.a].start, end: task.tokens[s.b].end, label: s.label};
    });
    fetch('/answer', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)})
      .then(json).then(function () { acked += 1; document.body.dataset.acked = acked; return load(); })
      .catch(function (err) { showError(err.message); busy = false; document.body.dataset.ready = task.id; });
  }
  function setLabel(k) {
    if (k < 0 || k >= labels.length) return;
    if (selected >= 0) { remember(); spans[selected].label = labels[k]; spans[selected].score = null; render(); }
    else { current = k; renderLabels(); }
  }
  function removeSelected() {
    if (selected < 0) return;
    remember(); spans.splice(selected, 1); selected = -1; render();
  }
  function undo() {
    var last = history.pop();
    if (last) { spans = last.spans; selected = last.selected; render(); }
  }
  function mark(a, b) {
    remember();
    spans = spans.filter(function (s) { return s.b < a || s.a > b; });
    spans.push({a: a, b: b, label: labels[current], score: null});
    spans.sort(function (x, y) { return x.a - y.a; });
    selected = -1; render();
  }
  $('doc').addEventListener('mousedown', function (ev) {
    var tok = ev.target.closest('.tok');
    dragFrom = tok ? +tok.dataset.i : null;
    if (!tok) {
      var m = ev.target.closest('mark.ent');
      if (m) { selected = +m.dataset.k; render(); }
    }
  });
  document.addEventListener('mouseup', function (ev) {
    if (dragFrom === null || !task || task.done) return;
    var tok = ev.target.closest && ev.target.closest('#doc .tok'), from = dragFrom;
    dragFrom = null;
    if (!tok) return;
    var to = +tok.dataset.i, a = Math.min(from, to), b = Math.max(from, to), k = spanOf(to);
    if (a === b && k >= 0) { selected = selected === k ? -1 : k; render(); return; }
    mark(a, b);
  });
  document.addEventListener('keydown', function (ev) {
    if (ev.altKey || ev.metaKey) return;
    if (ev.ctrlKey) { if (ev.key === 'z') { ev.preventDefault(); undo(); } return; }
    var key = ev.key;
    if (key === 'Enter' || key === 'a') send('accept');
    else if (key === 's') send('skip');
    else if (key === 'u') undo();
    else if (key === 'x' || key === 'Delete' || key === 'Backspace') removeSelected();
    else if (key === 'Escape') { selected = -1; render(); }
    else if (key === 'Tab') {
      if (!spans.length) return;
      var n = spans.length;
      selected = selected < 0 ? (ev.shiftKey ? n - 1 : 0) : (selected + (ev.shiftKey ? n - 1 : 1)) % n;
      render();
    } else if (/^[1-9]$/.test(key)) setLabel(+key - 1);
    else return;
    ev.preventDefault();
  });
  $('accept').addEventListener('click', function () { send('accept'); });
  $('skip').addEventListener('click', function () { send('skip'); });
  $('undo').addEventListener('click', undo);
  $('remove').addEventListener('click', removeSelected);
  function fmt(x) { return x === null || x === undefined ? '–' : x.toFixed(3); }
  function poll() {
    fetch('/status', {cache: 'no-store'}).then(json).then(function (s) {
      var m = s.model, r = s.retrain, text = 'model v' + m.version;
      if (m.version > 0 && m.heldout) {
        text += ' · held-out F1 ' + fmt(m.f1) + ' (given model ' + fmt(m.f1_before) + ') on ' + m.heldout +
          ' answers, trained on ' + m.trained_on;
      } else if (m.version > 0) text += ' · trained on ' + m.trained_on + ', no held-out answers yet';
      if (r.state === 'training') text += ' · retraining…';
      else if (r.state === 'failed') text += ' · retrain failed: ' + r.error;
      else if (r.every) text += ' · retrain in ' + r.answers_until_next + ' answers';
      $('model').textContent = text;
      document.body.dataset.modelVersion = m.version;
      showProgress(s.progress);
      if (!labels.length) { labels = s.labels; renderLabels(); }
    }).catch(function () {}).finally(function () { setTimeout(poll, 2000); });
  }
  fetch('/status', {cache: 'no-store'}).then(json).then(function (s) { labels = s.labels; renderLabels(); })
    .catch(function (err) { showError(err.message); })
    .finally(function () { load(); poll(); });
}());
