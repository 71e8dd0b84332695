// The map: MapLibre with an inline style and no outside tile server (the dashboard must
// work offline in the field). Context comes from GET /api/basemap; hazards, released
// land and assets from the server's vector tiles; teams at their current task from
// GET /api/teams/current.

import * as maplibregl from "./vendor/maplibre-gl/maplibre-gl.mjs";
import { api } from "./api.js";

const EMPTY = { type: "FeatureCollection", features: [] };

// Colours are declared once here and used by both the style and the legend.
export const HAZARD_COLOURS = { SHA: "#e69f00", CHA: "#c0392b" };
export const DAMAGE_COLOURS = {
  light: "#8bc34a",
  moderate: "#fdd835",
  severe: "#fb8c00",
  destroyed: "#6d1b7b",
};
export const CONTEXT_COLOURS = {
  districts: "#9aa08c",
  rivers: "#4a90c2",
  roads: "#7a7a7a",
  settlements: "#505050",
  front_line: "#d81b60",
  bridges: "#37474f",
};
export const RELEASE_COLOURS = { cancelled: "#b2dfdb", reduced: "#4db6ac", cleared: "#00796b" };
export const TEAM_COLOUR = "#1e4fd8";
const BLOCKED = "#111111";
const TILED = ["hazards", "released", "assets"]; // the vector tile layers, by source name

const POLYGON = ["in", ["geometry-type"], ["literal", ["Polygon", "MultiPolygon"]]];
const LINE = ["in", ["geometry-type"], ["literal", ["LineString", "MultiLineString"]]];
const POINT = ["in", ["geometry-type"], ["literal", ["Point", "MultiPoint"]]];
const IS_BLOCKED = ["==", ["get", "blocked"], true];

function byValue(property, colours, fallback) {
  return ["match", ["get", property], ...Object.entries(colours).flat(), fallback];
}

const hazardColour = byValue("status", HAZARD_COLOURS, "#999999");
const damageColour = byValue("damage", DAMAGE_COLOURS, "#999999");
const releaseColour = byValue("category", RELEASE_COLOURS, "#999999");

// A record still waiting for review is drawn fainter than an approved one.
const PENDING = ["==", ["get", "review_status"], "submitted"];

function contextLayers(name) {
  const colour = CONTEXT_COLOURS[name];
  const width = name === "front_line" ? 3 : name === "rivers" ? 2 : 1.2;
  const line = { "line-color": colour, "line-width": width };
  if (name === "front_line") line["line-dasharray"] = [3, 2];
  return [
    { id: `ctx-${name}-fill`, type: "fill", source: `ctx-${name}`, filter: POLYGON,
      paint: { "fill-color": colour, "fill-opacity": name === "districts" ? 0.06 : 0.3 } },
    { id: `ctx-${name}-line`, type: "line", source: `ctx-${name}`, filter: ["any", POLYGON, LINE],
      paint: line },
    { id: `ctx-${name}-point`, type: "circle", source: `ctx-${name}`, filter: POINT,
      paint: { "circle-color": colour, "circle-radius": 3.5 } },
  ];
}

const CONTEXT = ["districts", "rivers", "roads", "front_line", "settlements", "bridges"];

const RECORD_LAYERS = [
  { id: "hazards-fill", type: "fill", source: "hazards", filter: POLYGON,
    paint: { "fill-color": hazardColour, "fill-opacity": ["case", PENDING, 0.15, 0.4] } },
  // released land over the hazard it was released from
  { id: "released-fill", type: "fill", source: "released", filter: POLYGON,
    paint: { "fill-color": releaseColour, "fill-opacity": 0.75 } },
  { id: "hazards-line", type: "line", source: "hazards", filter: POLYGON,
    paint: { "line-color": hazardColour, "line-width": 1.5 } },
  { id: "hazards-point", type: "circle", source: "hazards", filter: POINT,
    // a low-zoom dot (with "count") stands for the hazards under one pixel
    paint: { "circle-color": hazardColour, "circle-opacity": 0.8,
      "circle-radius": ["case", ["has", "count"], 2.5, 7],
      "circle-stroke-color": "#ffffff", "circle-stroke-width": ["case", ["has", "count"], 0, 1] } },
  { id: "assets-blocked", type: "line", source: "assets", filter: ["all", IS_BLOCKED, ["!", POINT]],
    paint: { "line-color": BLOCKED, "line-width": 6 } },
  { id: "assets-fill", type: "fill", source: "assets", filter: POLYGON,
    paint: { "fill-color": damageColour, "fill-opacity": 0.7 } },
  { id: "assets-line", type: "line", source: "assets", filter: LINE,
    paint: { "line-color": damageColour, "line-width": 3 } },
  { id: "assets-point", type: "circle", source: "assets", filter: POINT,
    paint: { "circle-color": damageColour, "circle-radius": 6,
      "circle-stroke-color": ["case", IS_BLOCKED, BLOCKED, "#ffffff"],
      "circle-stroke-width": ["case", IS_BLOCKED, 3, 1] } },
  { id: "teams", type: "circle", source: "teams",
    paint: { "circle-color": TEAM_COLOUR, "circle-radius": 5,
      "circle-opacity": ["case", ["==", ["get", "state"], "at work"], 1, 0.45],
      "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.5 } },
  { id: "selection", type: "line", source: "selection",
    paint: { "line-color": "#00bcd4", "line-width": 3 } },
  { id: "selection-point", type: "circle", source: "selection", filter: POINT,
    paint: { "circle-radius": 10, "circle-color": "rgba(0,0,0,0)",
      "circle-stroke-color": "#00bcd4", "circle-stroke-width": 3 } },
];

// A rejected record is not on the ground: the tiles carry every review status
const NOT_REJECTED = ["!=", ["get", "review_status"], "rejected"];
for (const layer of RECORD_LAYERS) {
  if (["hazards", "assets"].includes(layer.source)) {
    layer.filter = ["all", NOT_REJECTED, layer.filter ?? true];
  }
}

// What a click can pick, and the record type behind each layer
const CLICKABLE = { "hazards-fill": "hazard", "hazards-point": "hazard", "assets-fill": "asset",
  "assets-line": "asset", "assets-point": "asset", "released-fill": "activity", "teams": "team" };

export const GROUPS = {
  hazards: RECORD_LAYERS.filter((l) => l.source === "hazards").map((l) => l.id),
  assets: RECORD_LAYERS.filter((l) => l.source === "assets").map((l) => l.id),
  released: RECORD_LAYERS.filter((l) => l.source === "released").map((l) => l.id),
  teams: ["teams"],
  context: CONTEXT.flatMap((name) => contextLayers(name).map((l) => l.id)),
};

const FIT = { padding: 40, maxZoom: 15 };

/** The programme's extent, [west, south, east, north], or null (nothing stored yet). */
async function programmeExtent() {
  try {
    return (await api("/api/extent")).bbox;
  } catch {
    return null;
  }
}

export class RecordMap {
  constructor(container, { onSelect }) {
    this.container = container;
    this.onSelect = onSelect;
    this.version = 0; // bumped on refresh so tile URLs change and no stale cached tile stays
    this.fitted = false;
    this.map = null;
  }

  async start() {
    const extent = await programmeExtent();
    const sources = { selection: { type: "geojson", data: EMPTY }, teams: { type: "geojson", data: EMPTY } };
    for (const name of CONTEXT) sources[`ctx-${name}`] = { type: "geojson", data: EMPTY };
    for (const name of TILED) sources[name] = this.recordSource(name);
    const layers = [
      { id: "background", type: "background", paint: { "background-color": "#eef0e6" } },
      ...CONTEXT.flatMap(contextLayers),
      ...RECORD_LAYERS.map((l) => (TILED.includes(l.source) ? { ...l, "source-layer": l.source } : l)),
    ];
    this.map = new maplibregl.Map({
      container: this.container,
      style: { version: 8, sources, layers },
      // open on the programme, so the first tiles asked for are the ones shown
      ...(extent ? { bounds: extent, fitBoundsOptions: FIT } : { center: [0, 20], zoom: 1 }),
      attributionControl: false,
      // Tiles are same-origin GETs: the session cookie goes with them, no header needed
    });
    window.clearfieldMap = this.map; // for bench/map.py and tests: when the map has painted
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-left");
    this.map.addControl(new maplibregl.ScaleControl(), "bottom-left");
    this.map.on("error", (e) => console.warn("map:", e.error?.message || e));
    this.map.on("click", (e) => this.click(e));
    this.map.on("mousemove", (e) => {
      const hit = this.map.queryRenderedFeatures(e.point, { layers: Object.keys(CLICKABLE) });
      this.map.getCanvas().style.cursor = hit.length ? "pointer" : "";
    });
    this.fitted = Boolean(extent);
    await new Promise((resolve) => this.map.once("load", resolve));
    this.container.dataset.ready = "true";
    await Promise.allSettled([this.loadBasemap(), this.loadTeams()]);
  }

  /** Teams at their current task (or on the way to their next), from the current plan. */
  async loadTeams() {
    try {
      this.map.getSource("teams").setData(await api("/api/teams/current"));
    } catch (err) {
      console.warn("teams:", err.message); // no plan yet: no teams on the map
    }
  }

  recordSource(name) {
    return { type: "vector", tiles: [this.tileUrl(name)], minzoom: 0, maxzoom: 14 };
  }

  tileUrl(name) {
    return `${location.origin}/api/tiles/${name}/{z}/{x}/{y}.pbf?v=${this.version}`;
  }

  async loadBasemap() {
    let basemap = {};
    try {
      basemap = await api("/api/basemap");
    } catch (err) {
      console.warn("basemap:", err.message); // not served yet: the map has no context layers
    }
    if (basemap.tiles) {
      // a configured raster basemap (an offline tile server, say), under everything
      this.map.addSource("raster", { type: "raster", tiles: [basemap.tiles], tileSize: 256 });
      this.map.addLayer({ id: "raster", type: "raster", source: "raster" }, "background");
      this.map.moveLayer("background", "raster");
    }
    for (const name of CONTEXT) {
      const fc = basemap[name];
      if (fc?.features?.length) this.map.getSource(`ctx-${name}`).setData(fc);
    }
    this.fit(CONTEXT.map((name) => basemap[name]));
  }

  /** Reload hazards and assets (after a review or a submission). */
  async refresh() {
    this.version += 1;
    for (const name of TILED) this.map.getSource(name).setTiles([this.tileUrl(name)]);
    this.loadTeams();
    if (!this.fitted) this.frame(await programmeExtent());
  }

  /** Frame the data the first time there is some; later refreshes keep the user's view. */
  fit(collections) {
    if (this.fitted) return;
    this.frame(bounds(collections.filter(Boolean).flatMap((fc) => fc.features || [])));
  }

  frame(box) {
    if (this.fitted || !box) return;
    this.fitted = true;
    this.map.fitBounds(box, { ...FIT, duration: 0 });
  }

  click(e) {
    const hit = this.map.queryRenderedFeatures(e.point, { layers: Object.keys(CLICKABLE) })[0];
    if (hit?.properties?.id) this.onSelect(CLICKABLE[hit.layer.id], hit.properties.id);
  }

  /** Outline a record (a GeoJSON Feature) and bring it into view. */
  highlight(feature, { zoom = false } = {}) {
    if (!this.map) return;
    const data = feature?.geometry ? feature : EMPTY;
    this.map.getSource("selection").setData(data);
    const box = data === EMPTY ? null : bounds([data]);
    if (zoom && box) this.map.fitBounds(box, { padding: 80, maxZoom: 16 });
  }

  setVisible(group, visible) {
    for (const id of GROUPS[group]) {
      this.map?.setLayoutProperty(id, "visibility", visible ? "visible" : "none");
    }
  }
}

/** [[minx, miny], [maxx, maxy]] of the features, or null when there is no geometry. */
export function bounds(features) {
  let box = null;
  const visit = (c) => {
    if (typeof c[0] === "number") {
      box = box
        ? [[Math.min(box[0][0], c[0]), Math.min(box[0][1], c[1])], [Math.max(box[1][0], c[0]), Math.max(box[1][1], c[1])]]
        : [[c[0], c[1]], [c[0], c[1]]];
    } else c.forEach(visit);
  };
  for (const f of features) {
    const g = f?.geometry;
    if (!g) continue;
    if (g.type === "GeometryCollection") g.geometries.forEach((x) => visit(x.coordinates));
    else visit(g.coordinates);
  }
  return box;
}
