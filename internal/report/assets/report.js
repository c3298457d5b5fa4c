// wsgibench report: draws the plots from the page's JSON data block with
// Chart.js. Everything here reads data; nothing is built from strings into
// HTML or script, so a hostile server name stays text.
(function () {
  'use strict';
  var root = document.documentElement;
  root.classList.remove('no-js');
  root.classList.add('js');

  var data = JSON.parse(document.getElementById('wsgibench-data').textContent);
  var INK = '#1d232b', MUTED = '#5b6573', GRID = '#e9edf1', RED = '#c62828';

  Chart.defaults.animation = false;
  Chart.defaults.responsive = true;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.color = MUTED;
  Chart.defaults.borderColor = GRID;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 12;
  Chart.defaults.plugins.legend.labels.boxWidth = 22;
  Chart.defaults.plugins.legend.labels.boxHeight = 8;
  Chart.defaults.plugins.tooltip.backgroundColor = 'rgba(29,35,43,0.92)';
  Chart.defaults.plugins.tooltip.padding = 9;

  // num mirrors the Go side's formatting: about three significant digits,
  // thousands grouped.
  function num(x) {
    if (x === null || x === undefined || isNaN(x)) return '-';
    var a = Math.abs(x);
    if (a === 0) return '0';
    if (a >= 100) return Math.round(x).toLocaleString('en-US');
    if (a >= 10) return x.toFixed(1);
    if (a >= 1) return x.toFixed(2);
    if (a >= 0.01) return x.toFixed(3);
    return x.toPrecision(3);
  }
  function pct(x) {
    if (!x) return '0%';
    if (x < 0.0001) return '<0.01%';
    return (x * 100).toPrecision(3) + '%';
  }
  function alpha(hex, a) {
    var n = parseInt(hex.slice(1), 16);
    return 'rgba(' + (n >> 16 & 255) + ',' + (n >> 8 & 255) + ',' + (n & 255) + ',' + a + ')';
  }

  // Log axes: keep the 1-2-5 ticks so labels never crowd.
  function logTicks(scale) {
    var keep = scale.ticks.filter(function (t) {
      var e = Math.pow(10, Math.floor(Math.log10(t.value) + 1e-9));
      var m = t.value / e;
      return Math.abs(m - 1) < 1e-6 || Math.abs(m - 2) < 1e-6 || Math.abs(m - 5) < 1e-6;
    });
    if (keep.length >= 2) scale.ticks = keep;
  }
  function logAxis(title, extra) {
    var a = {
      type: 'logarithmic',
      title: { display: true, text: title },
      afterBuildTicks: logTicks,
      ticks: { callback: function (v) { return num(v); } },
      grid: { color: GRID }
    };
    for (var k in extra) a[k] = extra[k];
    return a;
  }

  // Legends of line plots show a short line in the series' dash pattern.
  function lineLegendLabels(chart) {
    return chart.data.datasets.map(function (ds, i) {
      return {
        text: ds.label, datasetIndex: i, hidden: !chart.isDatasetVisible(i), fontColor: MUTED,
        strokeStyle: ds.borderColor, fillStyle: ds.borderColor, lineWidth: 2.5, lineDash: ds.borderDash || [],
        lineCap: 'butt', pointStyle: 'line'
      };
    }).filter(function (item) { return chart.data.datasets[item.datasetIndex].legend !== false; });
  }
  var LINE_LEGEND = {
    position: 'bottom',
    labels: { usePointStyle: true, pointStyleWidth: 28, boxHeight: 6, generateLabels: lineLegendLabels }
  };

  function canvasFor(p) {
    var el = document.getElementById(p.id);
    if (p.height) el.style.height = p.height + 'px';
    return el.querySelector('canvas');
  }

  // Horizontal bars with whiskers (throughput, memory).
  function bars(p, unit) {
    var sets = [{
      label: p.value_label,
      data: p.bars.map(function (b) {
        return { y: b.label, x: b.value, xMin: b.lo === undefined ? null : b.lo, xMax: b.hi === undefined ? null : b.hi };
      }),
      backgroundColor: p.bars.map(function (b) { return alpha(b.color, 0.9); }),
      borderColor: p.bars.map(function (b) { return b.color; }),
      borderWidth: 0,
      errorBarColor: INK,
      errorBarWhiskerColor: INK,
      errorBarLineWidth: 1.5,
      errorBarWhiskerLineWidth: 1.5,
      errorBarWhiskerRatio: 0.35,
      barPercentage: 0.9,
      categoryPercentage: 0.8,
      maxBarThickness: 18
    }];
    var second = p.bars.some(function (b) { return b.second !== undefined; });
    if (second) {
      sets.push({
        label: p.second_label,
        data: p.bars.map(function (b) { return { y: b.label, x: b.second === undefined ? null : b.second }; }),
        backgroundColor: p.bars.map(function (b) { return alpha(b.color, 0.22); }),
        borderColor: p.bars.map(function (b) { return b.color; }),
        borderWidth: 1.5,
        barPercentage: 0.9,
        categoryPercentage: 0.8,
        maxBarThickness: 18
      });
    }
    return new Chart(canvasFor(p), {
      type: 'barWithErrorBars',
      data: { labels: p.bars.map(function (b) { return b.label; }), datasets: sets },
      options: {
        indexAxis: 'y',
        skipNull: true,
        scales: {
          x: { beginAtZero: true, title: { display: true, text: unit }, ticks: { maxRotation: 0, autoSkipPadding: 12, callback: function (v) { return num(v); } } },
          y: { grid: { display: false }, ticks: { color: INK, autoSkip: false } }
        },
        plugins: {
          legend: {
            display: second,
            position: 'bottom',
            labels: {
              generateLabels: function () {
                return [
                  { text: p.value_label, fillStyle: alpha('#6b7785', 0.9), strokeStyle: '#6b7785', lineWidth: 0, datasetIndex: 0 },
                  { text: p.second_label, fillStyle: alpha('#6b7785', 0.22), strokeStyle: '#6b7785', lineWidth: 1.5, datasetIndex: 1 }
                ];
              }
            }
          },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var b = p.bars[ctx.dataIndex];
                if (ctx.datasetIndex === 0) {
                  var s = p.value_label + ': ' + num(b.value) + ' ' + unit;
                  if (b.lo !== undefined) s += ' (' + b.interval + ' ' + num(b.lo) + '–' + num(b.hi) + ')';
                  return s;
                }
                if (b.second === undefined) return null;
                return p.second_label + ': ' + num(b.second) + ' ' + unit + (b.note ? ' · ' + b.note : '');
              }
            }
          }
        }
      }
    });
  }

  var SPECTRUM_TICKS = { 2: 'p50', 10: 'p90', 100: 'p99', 1000: 'p99.9', 10000: 'p99.99', 100000: 'max' };

  function spectrum(p) {
    return new Chart(canvasFor(p), {
      type: 'line',
      data: {
        datasets: p.series.map(function (s) {
          return {
            label: s.label,
            data: s.points.map(function (pt) { return { x: pt.x, y: pt.y, tag: pt.tag }; }),
            borderColor: s.color, backgroundColor: s.color, borderDash: s.dash || [],
            borderWidth: 2, pointRadius: 0, pointHoverRadius: 4, pointHitRadius: 6, tension: 0
          };
        })
      },
      options: {
        parsing: false,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        scales: {
          x: {
            type: 'logarithmic', min: 2, max: 100000,
            title: { display: true, text: 'percentile' },
            afterBuildTicks: function (scale) {
              scale.ticks = Object.keys(SPECTRUM_TICKS).map(function (v) { return { value: +v, major: true }; });
            },
            ticks: { callback: function (v) { return SPECTRUM_TICKS[v] || ''; }, color: INK },
            grid: { color: GRID }
          },
          y: logAxis('latency (ms, log)')
        },
        plugins: {
          legend: LINE_LEGEND,
          tooltip: {
            itemSort: function (a, b) { return b.parsed.y - a.parsed.y; },
            callbacks: {
              title: function (items) { return items.length ? items[0].raw.tag : ''; },
              label: function (ctx) { return ctx.dataset.label + ': ' + num(ctx.parsed.y) + ' ms'; }
            }
          }
        }
      }
    });
  }

  function knee(p) {
    var xs = [];
    p.series.forEach(function (s) { s.points.forEach(function (pt) { xs.push(pt.x); }); });
    var lo = Math.min.apply(null, xs), hi = Math.max.apply(null, xs);
    var sets = p.series.map(function (s) {
      return {
        label: s.label,
        data: s.points,
        borderColor: s.color, backgroundColor: s.color, borderDash: s.dash || [], borderWidth: 2, tension: 0,
        pointStyle: function (ctx) { var r = ctx.raw || {}; return r.best ? 'rectRot' : r.pass ? 'circle' : 'crossRot'; },
        pointRadius: function (ctx) { var r = ctx.raw || {}; return r.best ? 7 : r.pass ? 3.5 : 5; },
        pointBorderWidth: function (ctx) { var r = ctx.raw || {}; return r.pass ? 1 : 2; },
        pointBackgroundColor: s.color,
        pointBorderColor: s.color
      };
    });
    (p.goals || []).forEach(function (g) {
      sets.push({
        label: 'p99 goal ' + num(g) + ' ms', goal: true,
        data: [{ x: lo, y: g }, { x: hi, y: g }],
        borderColor: RED, borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, pointHitRadius: 0
      });
    });
    return new Chart(canvasFor(p), {
      type: 'line',
      data: { datasets: sets },
      options: {
        parsing: { xAxisKey: 'x', yAxisKey: 'y' },
        interaction: { mode: 'nearest', intersect: false },
        scales: {
          x: { type: 'linear', title: { display: true, text: 'offered rate (req/s)' }, ticks: { callback: function (v) { return num(v); } } },
          y: logAxis('p99 latency (ms, log)')
        },
        plugins: {
          legend: LINE_LEGEND,
          tooltip: {
            filter: function (item) { return !item.dataset.goal; },
            callbacks: {
              title: function (items) { return items.length ? 'offered ' + num(items[0].raw.x) + ' req/s' : ''; },
              label: function (ctx) {
                var r = ctx.raw;
                return ctx.dataset.label + ': p99 ' + num(r.y) + ' ms, achieved ' + num(r.achieved) + ' req/s, errors ' + pct(r.error_rate) +
                  (r.pass ? ' — within goal' : ' — fails goal') + (r.best ? ' (capacity)' : '');
              }
            }
          }
        }
      }
    });
  }

  // Timeline: one run at a time, chosen with the selector; responses per
  // second above, p99 per second below, on one time axis.
  function timelineSets(run) {
    var sets = [];
    var anyErrors = run.trials.some(function (t) { return t.errors.some(function (e) { return e > 0; }); });
    run.trials.forEach(function (t, i) {
      var first = i === 0;
      sets.push({
        label: 'responses/s', group: 'ok', legend: first, trial: t.index,
        data: t.ok.map(function (v, s) { return { x: s + 1, y: v }; }),
        borderColor: alpha(run.color, 0.8), backgroundColor: run.color, borderWidth: 1.6,
        pointRadius: 0, pointHoverRadius: 3, tension: 0.2, yAxisID: 'y'
      });
      sets.push({
        label: 'p99 ms', group: 'p99', legend: first, trial: t.index,
        data: t.p99.map(function (v, s) { return { x: s + 1, y: v > 0 ? v : null }; }),
        borderColor: alpha(INK, 0.45), backgroundColor: INK, borderWidth: 1.3,
        pointRadius: 0, pointHoverRadius: 3, tension: 0.2, yAxisID: 'y2'
      });
      if (anyErrors) {
        sets.push({
          label: 'errors/s', group: 'err', legend: first, trial: t.index,
          data: t.errors.map(function (v, s) { return { x: s + 1, y: v }; }),
          borderColor: RED, backgroundColor: RED, borderWidth: 1.3, pointRadius: 0, tension: 0, yAxisID: 'y'
        });
      }
    });
    return sets;
  }

  function timeline(p) {
    var select = document.getElementById('timeline-run');
    var chart = new Chart(canvasFor(p), {
      type: 'line',
      data: { datasets: timelineSets(p.runs[0]) },
      options: {
        parsing: false,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        scales: {
          x: { type: 'linear', title: { display: true, text: 'second of the measured interval' }, ticks: { precision: 0 } },
          y2: {
            stack: 'timeline', stackWeight: 2, offset: true, beginAtZero: true,
            title: { display: true, text: 'p99 ms' }, ticks: { maxTicksLimit: 4, callback: function (v) { return num(v); } }
          },
          y: {
            stack: 'timeline', stackWeight: 3, offset: true, beginAtZero: true,
            title: { display: true, text: 'responses/s' }, ticks: { maxTicksLimit: 6, callback: function (v) { return num(v); } }
          }
        },
        plugins: {
          legend: {
            position: 'bottom',
            labels: LINE_LEGEND.labels,
            onClick: function (e, item, legend) {
              var ch = legend.chart, g = ch.data.datasets[item.datasetIndex].group;
              var hide = ch.isDatasetVisible(item.datasetIndex);
              ch.data.datasets.forEach(function (ds, i) { if (ds.group === g) ch.setDatasetVisibility(i, !hide); });
              ch.update();
            }
          },
          tooltip: {
            callbacks: {
              title: function (items) { return items.length ? 'second ' + items[0].parsed.x : ''; },
              label: function (ctx) {
                var ds = ctx.dataset, v = ctx.parsed.y;
                var what = ds.group === 'p99' ? 'p99 ' + num(v) + ' ms' : ds.group === 'err' ? num(v) + ' errors' : num(v) + ' responses';
                return 'trial ' + ds.trial + ': ' + what;
              }
            }
          }
        }
      }
    });
    if (select) {
      select.addEventListener('change', function () {
        chart.data.datasets = timelineSets(p.runs[+select.value] || p.runs[0]);
        chart.update();
      });
    }
    return chart;
  }

  var draw = {
    throughput: function (p) { return bars(p, p.unit || 'req/s'); },
    memory: function (p) { return bars(p, p.unit || 'MiB'); },
    spectrum: spectrum,
    knee: knee,
    timeline: timeline
  };
  var drawn = 0, failed = 0;
  data.plots.forEach(function (p) {
    try {
      draw[p.kind](p);
      drawn++;
    } catch (e) {
      failed++;
      console.error('wsgibench: plot ' + p.id + ' failed:', e);
    }
  });
  root.setAttribute('data-plots-drawn', String(drawn));
  root.setAttribute('data-plots-failed', String(failed));
})();
