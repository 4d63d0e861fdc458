/**
 * Types for the browser-only modules the notebook components import. Framework resolves them at build time
 * (`plotly.js-dist-min` is bundled from node_modules, `npm:@observablehq/stdlib` is Framework's own
 * library); tsc only needs their shapes.
 */
declare module "plotly.js-dist-min" {
  export interface PlotlyHTMLElement extends HTMLElement {
    on(event: string, handler: (event: unknown) => void): void;
  }
  const Plotly: {
    react(root: HTMLElement, data: object[], layout?: object, config?: object): Promise<PlotlyHTMLElement>;
    purge(root: HTMLElement): void;
  };
  export default Plotly;
}

declare module "npm:@observablehq/stdlib" {
  /** Calls `render(width)` whenever the container's width changes and shows what it returns. */
  export function resize(
    render: (width: number) => Node | null | Promise<Node | null>,
    invalidation?: Promise<unknown>,
  ): HTMLDivElement;
}

declare module "npm:@observablehq/stdlib" {
  export const Generators: {
    /** A generator of the values passed to `notify`; `initialize` returns the dispose function. */
    observe<T>(initialize: (notify: (value: T) => void) => (() => void) | undefined): AsyncGenerator<T>;
  };
}
