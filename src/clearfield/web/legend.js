// Layer toggles and the legend, in one panel, drawn from the colours the map uses so
// the two cannot drift apart.

import { CONTEXT_COLOURS, DAMAGE_COLOURS, HAZARD_COLOURS, RELEASE_COLOURS, TEAM_COLOUR } from "./map.js";

const SECTIONS = [
  ["hazards", "Hazards", [
    ["SHA: suspected", HAZARD_COLOURS.SHA, "area"],
    ["CHA: confirmed", HAZARD_COLOURS.CHA, "area"],
    ["awaiting review (fainter)", HAZARD_COLOURS.SHA, "faint"],
  ]],
  ["released", "Released land", Object.entries(RELEASE_COLOURS).map(([k, c]) => [k, c, "area"])],
  ["teams", "Teams", [
    ["at work on their task", TEAM_COLOUR, "dot"],
    ["on the way to their next (fainter)", TEAM_COLOUR, "faint"],
  ]],
  ["assets", "Assets by damage", [
    ...Object.entries(DAMAGE_COLOURS).map(([k, c]) => [k, c, "dot"]),
    ["blocked by a hazard", "#111111", "ring"],
  ]],
  ["context", "Context", Object.entries(CONTEXT_COLOURS).map(([k, c]) => [k.replace("_", " "), c, "line"])],
];

export function buildLegend(container, onToggle) {
  container.replaceChildren(
    ...SECTIONS.map(([group, title, entries]) => {
      const section = document.createElement("section");
      section.innerHTML = `<label class="toggle"><input type="checkbox" checked> <span></span></label><ul class="legend"></ul>`;
      const box = section.querySelector("input");
      box.id = `toggle-${group}`;
      box.addEventListener("change", () => onToggle(group, box.checked));
      section.querySelector("label span").textContent = title;
      for (const [label, colour, shape] of entries) {
        const li = document.createElement("li");
        const swatch = document.createElement("span");
        swatch.className = `swatch ${shape}`;
        swatch.style.setProperty("--c", colour);
        li.append(swatch, document.createTextNode(label));
        section.querySelector("ul").append(li);
      }
      return section;
    }),
  );
}
