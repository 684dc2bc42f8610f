// The locator's start point without a mouse (docs/maps.md#accessibility). Joined before locator.js into one scope;
// locator.js calls locatorKeyboard() once its state (locateAt, S, CATS, data, map) exists. Two ways: a place search
// box whose results are chosen with the arrow keys and Enter (the services by name or address, the areas by name,
// or "lat, lon"), and the map itself, which takes the keyboard once focused (arrow keys pan, + / - zoom, Enter
// starts from the crosshair at its centre).
function locatorKeyboard() {
  var placeItems = (function () {
    var out = [], s, fc = data.base && data.base.boundaries;
    for (s = 0; s < NS; s++) {
      if (!isFinite(S.lat[s]) || !isFinite(S.lon[s])) { continue; }
      var cat = S.cat[s] >= 0 ? CATS[S.cat[s]].label : "";
      out.push({ label: String(S.name[s] || ""), detail: [cat, S.address[s] || ""].filter(Boolean).join(" \u00b7 "),
                 lat: S.lat[s], lon: S.lon[s], hay: (String(S.name[s] || "") + " " + (S.address[s] || "")).toLowerCase() });
    }
    if (fc && fc.features) {
      fc.features.forEach(function (f) {
        var name = f.properties.name || f.properties.code, b;
        if (!name) { return; }
        try { b = L.geoJSON(f).getBounds(); } catch (e) { return; }
        if (!b.isValid()) { return; }
        var c = b.getCenter();
        out.push({ label: String(name), detail: C.t("loc.place_area"), lat: c.lat, lon: c.lng, hay: String(name).toLowerCase() });
      });
    }
    return out;
  })();
  function searchPlaces(q) {
    var ll = /^\s*(-?\d+(?:\.\d+)?)\s*[,; ]\s*(-?\d+(?:\.\d+)?)\s*$/.exec(q);
    if (ll && Math.abs(+ll[1]) <= 90 && Math.abs(+ll[2]) <= 180) {
      return [{ label: (+ll[1]).toFixed(5) + ", " + (+ll[2]).toFixed(5), detail: C.t("loc.place_coordinates"), lat: +ll[1], lon: +ll[2] }];
    }
    var words = q.toLowerCase().split(/\s+/).filter(Boolean), first = [], rest = [];
    placeItems.forEach(function (p) {
      if (!words.every(function (w) { return p.hay.indexOf(w) >= 0; })) { return; }
      (p.hay.indexOf(words[0]) === 0 ? first : rest).push(p);
    });
    return first.concat(rest);
  }
  function startFrom(lat, lon) {
    locateAt(lat, lon, null);
    map.panTo([lat, lon]);
  }
  window.civicA11y.placeSearch(document.getElementById("loc-search"), document.getElementById("loc-search-list"), {
    search: searchPlaces,
    onPick: function (p) { startFrom(p.lat, p.lon); }
  });
  window.civicA11y.mapPicker(map, {
    label: C.t("loc.map_label"),
    onPick: function (c) { locateAt(c.lat, c.lng, null); }
  });
}
