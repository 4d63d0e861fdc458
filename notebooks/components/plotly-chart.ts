/**
 * One responsive plotly.js chart for every notebook page.
 *
 * `plotly.js-dist-min` is imported as a bare specifier, so Framework bundles it from node_modules (nothing is
 * fetched from a CDN). The chart is drawn into a div that Framework's `resize` helper sizes: on each width
 * change the same plot is re-laid out with `Plotly.react`, which keeps the zoom the reader chose.
 */
import { resize } from "npm:@observablehq/stdlib";
import Plotly from "plotly.js-dist-min";

export interface ChartOptions {
  /** Plot height in px (default 320). */
  height?: number;
  /** Merged into the default layout (titles, axes, barmode…). */
  layout?: Record<string, unknown>;
  /** Merged into the default plotly config. */
  config?: Record<string, unknown>;
  /** A cell's `invalidation` promise: the plot is purged when the cell re-runs. */
  invalidation?: Promise<unknown>;
  /** Set as the plot's `data-chart` attribute, so tests and styles can find it. */
  name?: string;
}

const BASE_LAYOUT = {
  margin: { l: 56, r: 16, t: 32, b: 48 },
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "rgba(0,0,0,0)",
  font: { family: "var(--sans-serif), system-ui, sans-serif", size: 12 },
  legend: { orientation: "h", y: -0.2 },
};

/** A plotly chart of `traces` that follows its container's width. */
export function plotlyChart(traces: object[], options: ChartOptions = {}): HTMLDivElement {
  const height = options.height ?? 320;
  const plot = document.createElement("div");
  plot.className = "logbench-chart";
  if (options.name) plot.dataset.chart = options.name;
  let disposed = false;
  let drawing = false;
  const draw = (width: number) => {
    const layout = { ...BASE_LAYOUT, ...options.layout, width, height };
    const config = { responsive: false, displaylogo: false, ...options.config };
    // Drawn on the next frame: by then `resize` has put the div into the page, where plotly can measure text.
    requestAnimationFrame(() => {
      if (disposed) return;
      drawing = true;
      Plotly.react(plot, traces, layout, config).then(
        () => {
          drawing = false;
          if (disposed) Plotly.purge(plot);
          else plot.dataset.rendered = "true";
        },
        (error: unknown) => {
          drawing = false;
          if (!disposed) throw error;
        },
      );
    });
    return plot;
  };
  // A cell that re-runs (new data) throws this plot away; one still being drawn is purged once drawn, as
  // purging under plotly's feet fails inside it.
  options.invalidation?.then(() => {
    disposed = true;
    if (!drawing) Plotly.purge(plot);
  });
  const container = resize(draw, options.invalidation);
  container.style.minHeight = `${height}px`;
  return container;
}
