// Loaded by classic Notebook (JUPYTER_CONFIG_DIR=a copy of kernel/testdata/live_config) in
// kernel/kernel_integration_test.go: runs every cell of the opened notebook, and saves through
// the contents API what the mlxgo charts drew, once while the first chart updates live
// inside a running cell (result_mid.json) and once two seconds after the last cell finished (result_end.json).
define(['base/js/namespace', 'base/js/events'], function (Jupyter, events) {
  function measure(tag) {
    var charts = [];
    document.querySelectorAll('.mlxgo-chart').forEach(function (el) {
      var ink = 0, canvases = el.querySelectorAll('canvas');
      canvases.forEach(function (c) {
        var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (var k = 3; k < d.length; k += 4) { if (d[k]) { ink++; } }
      });
      charts.push({ class: el.className, canvases: canvases.length, ink: ink, width: el.clientWidth });
    });
    var body = JSON.stringify({
      tag: tag, charts: charts, echarts: (window.echarts && window.echarts.version) || '',
      progress: Array.from(document.querySelectorAll('.mlxgo-progress')).map(function (e) { return e.innerText; }),
      require: typeof window.require, define: typeof window.define
    });
    Jupyter.notebook.contents.save('result_' + tag + '.json', { type: 'file', format: 'text', content: body });
  }
  function start() {
    Jupyter.notebook.execute_all_cells();
    var t0 = Date.now(), mid = false;
    function poll() {
      // A chart drawn inside a cell that is still running is a live (UpdateHTML) output.
      var live = Jupyter.notebook.get_cells().some(function (c) {
        return c.element.hasClass('running') && c.element[0].querySelector('.mlxgo-loss-chart canvas');
      });
      if (!mid && live) {
        mid = true;
        measure('mid');
      }
      var cells = Jupyter.notebook.get_cells().filter(function (c) { return c.cell_type === 'code'; });
      var done = cells.every(function (c) { return typeof c.input_prompt_number === 'number'; });
      if (!done && Date.now() - t0 < 240000) { setTimeout(poll, 100); return; }
      setTimeout(function () { measure('end'); }, 2000);
    }
    setTimeout(poll, 200);
  }
  function go() {
    if (Jupyter.notebook.kernel && Jupyter.notebook.kernel.is_connected()) { start(); }
    else { events.one('kernel_ready.Kernel', start); }
  }
  if (Jupyter.notebook && Jupyter.notebook._fully_loaded) { go(); } else { events.one('notebook_loaded.Notebook', go); }
});
