// Binary column blobs (maps/_packed.py), shared by the pages that carry one (explorer, safe route): joined before
// the page's own code into one scope. inflateBlob(base64) -> Promise of the inflated ArrayBuffer (the browser's own
// DecompressionStream, no library); unpackBlob(buffer[, avail]) -> the JSON header with header.cols = {name: typed
// array} (with `avail`, only the columns inflated so far; header.more(avail) decodes the rest as they arrive).
function blobBytes(b64) {
  if (typeof DecompressionStream !== "function") {
    throw new Error("this browser has no DecompressionStream (needs Chrome 80, Firefox 113, " +
                    "Safari 16.4 or newer): the page's data cannot be opened");
  }
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(b64);  // native (Chrome 140+)
  var bin = atob(b64), bytes = new Uint8Array(bin.length);
  for (var j = 0; j < bin.length; j++) bytes[j] = bin.charCodeAt(j);
  return bytes;
}
function inflateBlob(b64) {  // -> promise of the inflated bytes (an ArrayBuffer)
  try {
    var stream = new Blob([blobBytes(b64)]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
    return new Response(stream).arrayBuffer();
  } catch (e) { return Promise.reject(e); }
}
// inflateNow(base64) -> the inflated bytes at once (a Uint8Array), with fflate (a page that uses it lists the
// "fflate" plugin: maps/assets.py): for the small blobs a page draws before the browser goes on parsing it. A stream
// cut after a flush (maps/_packed.py pack's flush_after) gives the bytes before the cut.
function inflateNow(b64) {
  var parts = [], size = 0, at = 0;
  new fflate.Inflate(function (chunk) { parts.push(chunk); size += chunk.length; }).push(blobBytes(b64), false);
  var out = new Uint8Array(size);
  parts.forEach(function (c) { out.set(c, at); at += c.length; });
  return out;
}
function unpackBlob(buf) {  // -> header object with header.cols replaced by {name: Int32Array or Float64Array (NaN = null)}
  // A second argument `avail` (bytes of `buf` inflated so far) decodes only the columns that end within it;
  // header.more(avail) decodes the rest as more arrive (true once every column is decoded).
  var bytes = new Uint8Array(buf), h = new DataView(buf).getUint32(0, true);
  var head = JSON.parse(new TextDecoder("utf-8").decode(bytes.subarray(4, 4 + h))), pos = 4 + h, cols = {};
  function decode(s, pos, out) {  // -> false when a value does not fit `out` (an Int32Array)
    var w = s[1], m = s[2], off = s[3], nul = s[4], delta = s[5], acc = 0, j, x, v, top = -Infinity;
    var b0 = pos, b1 = pos + m, b2 = pos + 2 * m, b3 = pos + 3 * m;  // the byte planes, low byte first
    if (!nul && !delta && out instanceof Int32Array) {  // the per-row columns: one tight loop per width
      if (w === 4) {  // the top byte's planes OR-ed: below 128 and small enough an offset, every value fits
        if (off > 16777216) return false;
        for (j = 0, x = 0; j < m; j++) { v = bytes[b3 + j]; x |= v; out[j] = (bytes[b0 + j] | bytes[b1 + j] << 8 | bytes[b2 + j] << 16 | v << 24) + off; }
        if (x > 126) return false;
      } else if (w === 2) {
        if (65535 + off > 2147483647) return false;
        for (j = 0; j < m; j++) out[j] = (bytes[b0 + j] | bytes[b1 + j] << 8) + off;
      } else {
        if (255 + off > 2147483647) return false;
        out.set(bytes.subarray(b0, b0 + m));
        if (off) for (j = 0; j < m; j++) out[j] += off;
      }
      return true;
    }
    for (j = 0; j < m; j++) {
      x = bytes[b0 + j];
      if (w > 1) { x += bytes[b1 + j] * 256; if (w > 2) x += bytes[b2 + j] * 65536 + bytes[b3 + j] * 16777216; }
      if (delta) { acc += (x % 2) ? -(x + 1) / 2 : x / 2; x = acc; }
      v = nul ? (x === 0 ? NaN : x - 1 + off) : x + off;
      out[j] = v; if (v > top) top = v;
    }
    return !(out instanceof Int32Array) || top <= 2147483647;
  }
  var specs = head.cols.map(function (s) { var at = pos; pos += s[1] * s[2]; return [s, at]; });
  head.cols = cols;
  head.more = function (avail) {
    while (specs.length && specs[0][1] + specs[0][0][1] * specs[0][0][2] <= avail) {
      // integers as Int32Array (no null, no delta, none negative or above 2^31 - 1: the filters read them as
      // they are), else Float64Array (NaN = null)
      var s = specs[0][0], at = specs.shift()[1], m = s[2], out = !s[4] && !s[5] && s[3] >= 0 ? new Int32Array(m) : new Float64Array(m);
      if (!decode(s, at, out)) { out = new Float64Array(m); decode(s, at, out); }
      cols[s[0]] = out;
    }
    return !specs.length;
  };
  head.more(arguments.length > 1 ? arguments[1] : bytes.length);
  return head;
}
