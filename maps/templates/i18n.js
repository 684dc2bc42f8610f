/* civicmash page languages (maps/i18n.py, docs/maps.md "Languages"): the message catalogues are inlined in the
   page (JSON block #i18n, no fetch); the language is the one the reader picked with the EN | ES switch (URL
   query `lang=`, then localStorage), else the browser's (navigator.languages: es* -> Spanish), else the
   profile's first. The page is written in the default language; another one is applied to the elements that
   name a catalogue key (data-i18n, data-i18n-attr) before the page's own script runs. Text only (textContent). */
(function () {
  "use strict";
  var STORE = "civicmash.lang";

  function readBlock() {
    var node = document.getElementById("i18n");
    if (!node) { return { source: "en", preferred: "en", locales: { en: "en-US" }, messages: { en: {} } }; }
    return JSON.parse(node.textContent);
  }
  function urlLang() {
    var m = /[?&]lang=([A-Za-z-]+)/.exec(window.location.search || "");
    return m ? m[1].toLowerCase() : null;
  }
  function storedLang() {
    try { return window.localStorage.getItem(STORE); } catch (e) { return null; }
  }
  function store(lang) {
    try { window.localStorage.setItem(STORE, lang); } catch (e) { /* storage off (sandboxed frame): URL only */ }
  }
  function base(tag) { return String(tag || "").toLowerCase().split("-")[0]; }

  function choose(block) {
    var held = block.messages, i, cand = [urlLang(), storedLang()];
    function offered(code) { return !!(code && held[code] && block.locales[code]); }
    for (i = 0; i < cand.length; i++) {
      if (offered(base(cand[i]))) { return base(cand[i]); }
    }
    // the browser's languages in the reader's order: the first the city offers (es, es-MX, es-419 -> Spanish)
    var wanted = (navigator.languages && navigator.languages.length) ? navigator.languages : [navigator.language];
    for (i = 0; i < wanted.length; i++) {
      if (offered(base(wanted[i]))) { return base(wanted[i]); }
    }
    return offered(block.preferred) ? block.preferred : block.source;
  }

  // "{n} of {m}" with vars {n: 3, m: 9} -> "3 of 9"; a missing key falls back to the default language, then the key.
  function format(msg, vars) {
    return String(msg).replace(/\{(\w+)\}/g, function (all, name) {
      return vars && Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : all;
    });
  }

  // An element with data-i18n gets the message as its text; its children marked data-i18n-arg="name" (a link,
  // a <code>, an input inside a label) are kept and placed where the message says {name}.
  function fill(node, msg) {
    var args = {}, kids = node.querySelectorAll("[data-i18n-arg]"), i;
    for (i = 0; i < kids.length; i++) { args[kids[i].getAttribute("data-i18n-arg")] = kids[i]; }
    if (!kids.length) { node.textContent = msg; return; }
    while (node.firstChild) { node.removeChild(node.firstChild); }
    var parts = String(msg).split(/(\{\w+\})/);
    for (i = 0; i < parts.length; i++) {
      var m = /^\{(\w+)\}$/.exec(parts[i]);
      if (m && args[m[1]]) { node.appendChild(args[m[1]]); }
      else if (parts[i]) { node.appendChild(document.createTextNode(parts[i])); }
    }
  }

  var ready = null;   // one language per page: the first init() applies it, a later call gets the same answer
  function init() {
    if (ready) { return ready; }
    var block = readBlock();
    var lang = choose(block);
    var messages = block.messages[lang] || {}, fallback = block.messages[block.source] || {};
    var locale = block.locales[lang] || "en-US";
    function t(key, vars) {
      var msg = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key]
        : Object.prototype.hasOwnProperty.call(fallback, key) ? fallback[key] : key;
      return format(msg, vars);
    }
    var nf = {};
    function fmtNum(n, digits) {
      if (n === null || n === undefined || !isFinite(n)) { return String(n); }
      var d = digits === undefined ? 0 : digits;
      if (!nf[d]) { nf[d] = new Intl.NumberFormat(locale, { minimumFractionDigits: d, maximumFractionDigits: d }); }
      return nf[d].format(n);
    }
    function fmtMoney(n, digits) {
      if (n === null || n === undefined || !isFinite(n)) { return String(n); }
      return new Intl.NumberFormat(locale, { style: "currency", currency: block.currency || "USD",
        minimumFractionDigits: digits || 0, maximumFractionDigits: digits || 0 }).format(n);
    }
    // "2018-09-01" or "2018-09-01T10:30:00" -> the locale's date (and time when the text has one), read as written
    // (the city's local time: no time zone shift).
    function fmtDate(text, withTime) {
      var m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?/.exec(String(text || ""));
      if (!m) { return text === null || text === undefined ? "" : String(text); }
      var d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], m[4] ? +m[4] : 0, m[5] ? +m[5] : 0));
      var opts = { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" };
      if (m[4] && withTime !== false) { opts.hour = "2-digit"; opts.minute = "2-digit"; opts.hourCycle = "h23"; }
      return new Intl.DateTimeFormat(locale, opts).format(d);
    }
    var translate = lang !== block.source;
    function apply(root) {
      var scope = root || document, i;
      if (!translate) { return; }
      var nodes = scope.querySelectorAll("[data-i18n]");
      for (i = 0; i < nodes.length; i++) {
        var key = nodes[i].getAttribute("data-i18n");
        if (Object.prototype.hasOwnProperty.call(messages, key)) { fill(nodes[i], messages[key]); }
      }
      nodes = scope.querySelectorAll("[data-i18n-attr]");
      for (i = 0; i < nodes.length; i++) {
        nodes[i].getAttribute("data-i18n-attr").split(";").forEach(function (pair) {
          var kv = pair.split(":");
          if (kv.length === 2 && Object.prototype.hasOwnProperty.call(messages, kv[1].trim())) {
            nodes[i].setAttribute(kv[0].trim(), messages[kv[1].trim()]);
          }
        });
      }
      var title = scope.querySelector && scope.querySelector("[data-i18n-page-title]");   // the h1's: <title> too
      if (title && Object.prototype.hasOwnProperty.call(messages, title.getAttribute("data-i18n-page-title"))) {
        document.title = messages[title.getAttribute("data-i18n-page-title")] + " \u2014 " + title.getAttribute("data-city");
      }
      nodes = scope.querySelectorAll("time[data-i18n-date]");
      for (i = 0; i < nodes.length; i++) { nodes[i].textContent = fmtDate(nodes[i].getAttribute("datetime")); }
    }
    function wireSwitch() {
      var buttons = document.querySelectorAll("[data-lang-choice]"), i;
      for (i = 0; i < buttons.length; i++) {
        var b = buttons[i], code = b.getAttribute("data-lang-choice");
        if (!block.locales[code] || !block.messages[code]) { b.hidden = true; continue; }
        b.setAttribute("aria-pressed", code === lang ? "true" : "false");
        b.addEventListener("click", (function (code) {
          return function () {
            store(code);
            var search = (window.location.search || "").replace(/^\?/, "").split("&").filter(function (p) {
              return p && p.indexOf("lang=") !== 0;
            });
            search.push("lang=" + code);
            var url = window.location.pathname + "?" + search.join("&") + window.location.hash;
            if (code === lang) { try { window.history.replaceState(null, "", url); } catch (e) { /* file: quirks */ } return; }
            window.location.replace(url);
          };
        })(code));
      }
      var sw = document.getElementById("lang-switch");
      if (sw && Object.keys(block.locales).length < 2) { sw.hidden = true; }
    }
    document.documentElement.setAttribute("lang", locale);
    if (urlLang() && base(urlLang()) === lang) { store(lang); }
    apply(document);
    wireSwitch();
    function has(key) { return Object.prototype.hasOwnProperty.call(fallback, key); }
    ready = { lang: lang, locale: locale, t: t, has: has, apply: apply, fmtNum: fmtNum, fmtMoney: fmtMoney, fmtDate: fmtDate,
              isDefault: !translate };
    return ready;
  }

  window.civicmashI18n = { init: init, format: format };
})();
