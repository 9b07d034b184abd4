import type { MetricSpec, PROM_ONLY } from '../src/shared/metrics/catalog';

/** The Grafana dashboard generated from the metric catalog (scripts/gen-dashboard.js). */
export function renderDashboard(catalog: readonly MetricSpec[], promOnly: typeof PROM_ONLY): GrafanaDashboard;
export const DASHBOARD_FILE: string;

export interface GrafanaTarget {
  expr: string;
  legendFormat: string;
  refId: string;
}
export interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: GrafanaTarget[];
}
export interface GrafanaDashboard {
  uid: string;
  title: string;
  templating: { list: { name: string; type: string; definition?: string }[] };
  panels: GrafanaPanel[];
}
