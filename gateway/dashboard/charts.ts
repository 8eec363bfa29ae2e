/**
 * Charts of the fleet aggregates over the last hour: total power, and lamps online / lit. They
 * start from the gateway's stats history (GET /api/stats-history) and go on with every live
 * lampnet/stats message. uPlot draws them; this file keeps the series, the time axis and the
 * dark theme.
 */
import type { FleetStats } from '../../protocol/mqtt-topics.js';
import { uPlot, type UPlotChart, type UPlotOptions } from './vendor.js';

const AXIS = { stroke: '#8b97ad', grid: { stroke: 'rgba(139, 151, 173, 0.12)', width: 1 }, ticks: { stroke: 'rgba(139, 151, 173, 0.25)', width: 1 } };
const HEIGHT = 84;
const HOUR_MINUTE = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit' });
const HOUR_MINUTE_SECOND = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** Time axis labels as a clock reads (14:05), with seconds when the ticks are less than a minute
 * apart (uPlot's own labels drop the hour: ":21 :22"). */
export function timeLabels(splits: number[]): string[] {
  const step = splits.length > 1 ? splits[1] - splits[0] : Infinity;
  const format = step < 60 ? HOUR_MINUTE_SECOND : HOUR_MINUTE;
  return splits.map((t) => format.format(new Date(t * 1000)));
}

/** Watts as the page shows them; `precise` = false for axis labels, which must stay short. */
export function powerText(watts: number, precise = true): string {
  if (watts >= 1e6) return `${(watts / 1e6).toFixed(precise ? 2 : 1)} MW`;
  if (watts >= 1e4) return `${(watts / 1e3).toFixed(precise ? 1 : 0)} kW`;
  return `${Math.round(watts)} W`;
}

/** One chart over time with the given series; `values` picks them out of a stats message. */
class RollingChart {
  private readonly times: number[] = [];
  private readonly series: number[][];
  private readonly chart: UPlotChart;

  constructor(
    private readonly host: HTMLElement,
    private readonly windowS: number,
    lines: { label: string; color: string; fill: string; format: (v: number) => string }[],
    private readonly values: (s: FleetStats) => number[],
    axisFormat: (v: number) => string,
  ) {
    this.series = lines.map(() => []);
    const options: UPlotOptions = {
      width: Math.max(200, host.clientWidth),
      height: HEIGHT,
      cursor: { drag: { x: false, y: false } },
      legend: { live: false },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(1, max * 1.1, min)] } },
      axes: [
        { ...AXIS, size: 24, space: 64, values: (_u, splits) => timeLabels(splits) },
        { ...AXIS, size: 64, space: 24, values: (_u, splits) => splits.map((v) => axisFormat(v)) },
      ],
      series: [
        {},
        ...lines.map((l) => ({ label: l.label, stroke: l.color, fill: l.fill, width: 2, points: { show: false }, value: (_u: UPlotChart, v: number | null) => (v === null ? '–' : l.format(v)) })),
      ],
    };
    this.chart = new uPlot(options, [this.times, ...this.series], host);
  }

  get points(): number {
    return this.times.length;
  }

  /** Add a sample at `t` (seconds); older than the newest one shown: ignored. */
  push(t: number, stats: FleetStats): void {
    if (this.times.length > 0 && t <= this.times[this.times.length - 1]) return;
    this.times.push(t);
    this.values(stats).forEach((v, i) => this.series[i].push(v));
    const drop = this.times.findIndex((x) => x >= t - this.windowS);
    if (drop > 0) {
      this.times.splice(0, drop);
      for (const s of this.series) s.splice(0, drop);
    }
    this.chart.setData([this.times, ...this.series]);
  }

  resize(): void {
    this.chart.setSize({ width: Math.max(200, this.host.clientWidth), height: HEIGHT });
  }
}

export class FleetCharts {
  private readonly charts: RollingChart[];

  constructor(powerHost: HTMLElement, lampsHost: HTMLElement, windowS = 3600) {
    const count = (v: number): string => Math.round(v).toLocaleString('en-US');
    this.charts = [
      new RollingChart(powerHost, windowS, [
        { label: 'power', color: '#fbbf24', fill: 'rgba(251, 191, 36, 0.14)', format: (w) => powerText(w) },
      ], (s) => [s.watts], (w) => powerText(w, false)),
      new RollingChart(lampsHost, windowS, [
        { label: 'online', color: '#38bdf8', fill: 'rgba(56, 189, 248, 0.08)', format: count },
        { label: 'on', color: '#fbbf24', fill: 'rgba(251, 191, 36, 0.10)', format: count },
      ], (s) => [s.online, s.on], count),
    ];
  }

  /** Add a sample taken at `at` (ms since the epoch). */
  push(stats: FleetStats, at = Date.now()): void {
    for (const c of this.charts) c.push(at / 1000, stats);
  }

  /** Samples on the charts. */
  get points(): number {
    return this.charts[0].points;
  }

  resize(): void {
    for (const c of this.charts) c.resize();
  }
}
