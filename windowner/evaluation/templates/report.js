(function () {
  var PAGE = parseInt(document.getElementById('sentences').dataset.pageSize, 10);
  var sents = Array.prototype.slice.call(document.querySelectorAll('#sentences .sent'));
  var kind = document.getElementById('kind-filter'), type = document.getElementById('type-filter');
  var info = document.getElementById('match-count'), page = 0, shown = [];
  function matches(s) {
    var k = kind.value, t = type.value;
    return s.dataset.errors.split(' ').some(function (e) {
      var kt = e.split(':');
      return (k === '' || kt[0] === k) && (t === '' || kt.slice(1).join(':') === t);
    });
  }
  function draw() {
    var pages = Math.max(1, Math.ceil(shown.length / PAGE));
    page = Math.min(Math.max(page, 0), pages - 1);
    sents.forEach(function (s) { s.classList.add('hidden'); });
    shown.slice(page * PAGE, (page + 1) * PAGE).forEach(function (s) { s.classList.remove('hidden'); });
    info.textContent = shown.length + ' sentence' + (shown.length === 1 ? '' : 's') + ' shown; page ' +
      (page + 1) + ' of ' + pages;
    document.getElementById('prev-page').disabled = page === 0;
    document.getElementById('next-page').disabled = page >= pages - 1;
  }
  function apply() { shown = sents.filter(matches); page = 0; draw(); }
  kind.addEventListener('change', apply);
  type.addEventListener('change', apply);
  document.getElementById('prev-page').addEventListener('click', function () { page -= 1; draw(); });
  document.getElementById('next-page').addEventListener('click', function () { page += 1; draw(); });
  document.querySelectorAll('#taxonomy td.count').forEach(function (td) {
    td.addEventListener('click', function () {
      if (td.dataset.kind === 'exact') return;
      kind.value = td.dataset.kind; type.value = td.dataset.type; apply();
      document.getElementById('errors').scrollIntoView();
    });
  });
  apply();
})();
