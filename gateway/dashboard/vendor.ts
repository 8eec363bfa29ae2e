/**
 * The two libraries the page loads as classic scripts from vendor/ (copied from node_modules by
 * build.ts): mqtt.js's browser build and uPlot. Typed here once, from their own type declarations,
 * so the rest of the dashboard imports them like modules.
 */
import type * as Mqtt from 'mqtt';
import type UPlot from 'uplot';

declare global {
  interface Window {
    mqtt: typeof Mqtt;
    uPlot: typeof UPlot;
  }
}

export const mqtt = window.mqtt;
export const uPlot = window.uPlot;
export type { MqttClient } from 'mqtt';
export type { default as UPlotChart, Options as UPlotOptions } from 'uplot';
