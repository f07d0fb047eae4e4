/* pixvault web UI: a little plain JavaScript, no build step, no dependencies.
 * Pages work as plain forms; this adds uploads with progress, infinite scroll, the focal
 * point picker, the URL builder and copy buttons. */
(function () {
  "use strict";

  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  function element(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (_) {
        /* fall back below */
      }
    }
    const area = element("textarea", { readonly: "", class: "visually-hidden" });
    area.value = text;
    document.body.append(area);
    area.select();
    let done = false;
    try {
      done = document.execCommand("copy");
    } catch (_) {
      done = false;
    }
    area.remove();
    return done;
  }

  async function errorOf(response) {
    try {
      const body = await response.json();
      if (body && body.error) return body.error;
    } catch (_) {
      /* not JSON */
    }
    if (response.status === 401) return "Your session has ended; sign in again";
    return "The server answered " + response.status + "; try again";
  }

  // Placeholder colours arrive as data attributes (the CSP allows no inline styles).
  function paint(root) {
    for (const node of $$("[data-placeholder]", root)) {
      node.style.backgroundColor = node.dataset.placeholder;
      const picture = $("img", node);
      if (picture) picture.style.backgroundColor = node.dataset.placeholder;
    }
  }

  // A picture refused for now (the render queue is full, or this address made too many new
  // renderings this minute: 429/503) is asked for again a few times, a little later each time.
  function retryPictures() {
    document.addEventListener(
      "error",
      (event) => {
        const picture = event.target;
        if (!(picture instanceof HTMLImageElement) || !picture.closest(".thumb, .stage, .crop-figure")) return;
        if (picture.src.startsWith("blob:")) return;
        const tries = Number(picture.dataset.retries || 0);
        if (tries >= 3) return;
        picture.dataset.retries = String(tries + 1);
        setTimeout(() => {
          const srcset = picture.getAttribute("srcset");
          if (srcset) picture.setAttribute("srcset", srcset);
          picture.src = picture.getAttribute("src");
        }, 3000 * 2 ** tries);
      },
      true,
    );
  }

  // -- uploads -----------------------------------------------------------------------------

  function initUploader() {
    const section = $("#uploader");
    if (!section) return;
    const input = $("#files", section);
    const list = $("#uploads", section);
    const grid = $("#grid");
    const maxBytes = Number(section.dataset.maxBytes || 0);
    const queue = [];
    let active = 0;

    function send(files) {
      for (const file of files) queue.push(row(file));
      pump();
    }

    function pump() {
      while (active < 3 && queue.length) {
        const job = queue.shift();
        active += 1;
        upload(job).finally(() => {
          active -= 1;
          pump();
        });
      }
    }

    function row(file) {
      const item = element("li", { class: "upload" });
      const name = file.name || "pasted image";
      const label = element("span", { class: "file", title: name }, name);
      const bar = element("progress", { max: String(file.size || 1), value: "0" });
      bar.setAttribute("aria-label", "Upload of " + name);
      const state = element("span", { class: "state" }, "Waiting…");
      item.append(label, bar, state);
      list.append(item);
      return { file, name, item, bar, state };
    }

    function finish(job, ok, message) {
      job.item.classList.add(ok ? "done" : "failed");
      job.state.textContent = message;
      if (!ok) job.state.setAttribute("role", "alert");
    }

    function upload(job) {
      return new Promise((resolve) => {
        const xhr = new XMLHttpRequest();
        xhr.open("POST", section.dataset.endpoint);
        xhr.setRequestHeader("X-CSRF-Token", csrf());
        xhr.setRequestHeader("Accept", "application/json");
        xhr.upload.addEventListener("progress", (event) => {
          if (!event.lengthComputable) return;
          job.bar.max = event.total;
          job.bar.value = event.loaded;
          job.state.textContent = "Uploading… " + Math.floor((100 * event.loaded) / event.total) + "%";
        });
        xhr.upload.addEventListener("load", () => {
          job.bar.value = job.bar.max;
          job.state.textContent = "Processing…";
        });
        xhr.addEventListener("load", () => {
          let body = null;
          try {
            body = JSON.parse(xhr.responseText);
          } catch (_) {
            body = null;
          }
          if (xhr.status === 201 && body) {
            job.bar.value = job.bar.max;
            finish(job, true, "Uploaded");
            const link = element("a", { href: body.url }, "open");
            job.state.append(" · ", link);
            addCard(body.html);
          } else {
            finish(job, false, (body && body.error) || "The server answered " + xhr.status);
          }
          resolve();
        });
        xhr.addEventListener("error", () => {
          const tooLarge = maxBytes && job.file.size > maxBytes;
          finish(
            job,
            false,
            tooLarge
              ? section.dataset.tooLarge
              : "The upload did not reach the server; check the connection and try again",
          );
          resolve();
        });
        const form = new FormData();
        form.append("file", job.file, job.name);
        job.state.textContent = "Uploading…";
        xhr.send(form);
      });
    }

    function addCard(html) {
      if (!grid || !html) return;
      const template = document.createElement("template");
      template.innerHTML = html.trim();
      const card = template.content.firstElementChild;
      if (!card) return;
      paint(template.content);
      grid.prepend(card);
      const empty = $("#empty");
      if (empty) empty.hidden = true;
    }

    input.addEventListener("change", () => {
      send(Array.from(input.files));
      input.value = "";
    });

    const hasFiles = (event) =>
      event.dataTransfer && Array.from(event.dataTransfer.types || []).includes("Files");
    let depth = 0;
    document.addEventListener("dragenter", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth += 1;
      document.body.classList.add("dragging");
    });
    document.addEventListener("dragover", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    });
    document.addEventListener("dragleave", (event) => {
      if (!hasFiles(event)) return;
      depth -= 1;
      if (depth <= 0) {
        depth = 0;
        document.body.classList.remove("dragging");
      }
    });
    document.addEventListener("drop", (event) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth = 0;
      document.body.classList.remove("dragging");
      send(Array.from(event.dataTransfer.files));
    });
    document.addEventListener("paste", (event) => {
      const target = event.target;
      if (target && target.matches && target.matches("input:not([type=file]), textarea")) return;
      const files = Array.from((event.clipboardData && event.clipboardData.files) || []);
      if (!files.length) return;
      event.preventDefault();
      send(files);
    });
  }

  // -- gallery pages -----------------------------------------------------------------------

  function initInfiniteScroll() {
    const more = $("[data-older]");
    const grid = $("#grid");
    if (!more || !grid || !("IntersectionObserver" in window)) return;
    let loading = false;
    const observer = new IntersectionObserver(
      async (entries) => {
        if (loading || !entries.some((entry) => entry.isIntersecting)) return;
        loading = true;
        try {
          const response = await fetch(more.href, { headers: { Accept: "text/html" } });
          if (!response.ok) return;
          const page = new DOMParser().parseFromString(await response.text(), "text/html");
          const seen = new Set($$("#grid > li", document).map((li) => li.dataset.id));
          for (const card of $$("#grid > li", page)) {
            if (seen.has(card.dataset.id)) continue;
            const adopted = document.adoptNode(card);
            paint(adopted);
            grid.append(adopted);
          }
          const next = $("[data-older]", page);
          if (next) {
            more.href = next.getAttribute("href");
          } else {
            observer.disconnect();
            more.remove();
          }
        } finally {
          loading = false;
        }
      },
      { rootMargin: "400px" },
    );
    observer.observe(more);
  }

  // -- focal point -------------------------------------------------------------------------

  function initFocal() {
    const stage = $("#stage");
    if (!stage) return;
    const picture = $("#preview", stage);
    const marker = $("#marker", stage);
    const status = $("#focal-status");
    const clear = $("#focal-clear");
    const endpoint = stage.dataset.endpoint;
    let point = stage.dataset.x ? { x: Number(stage.dataset.x), y: Number(stage.dataset.y) } : null;
    let version = 0;
    let timer = null;

    const clamp = (value) => Math.min(1, Math.max(0, value));
    const round = (value) => Math.round(value * 10000) / 10000;

    function show(where) {
      if (!where) {
        marker.hidden = true;
        return;
      }
      marker.hidden = false;
      marker.style.left = where.x * 100 + "%";
      marker.style.top = where.y * 100 + "%";
    }

    function describe(where) {
      if (!where) return "No focal point: crops are centred.";
      return (
        "Focal point: " +
        Math.round(where.x * 100) +
        "% from the left, " +
        Math.round(where.y * 100) +
        "% from the top."
      );
    }

    async function refreshCrops() {
      const mine = ++version;
      await Promise.all(
        $$("img.crop[data-src]").map(async (crop) => {
          crop.setAttribute("aria-busy", "true");
          try {
            // `reload` goes to the server and refreshes the browser's copy (focal crops may be
            // cached for a minute under the same URL).
            const response = await fetch(crop.dataset.src, { cache: "reload" });
            if (!response.ok || mine !== version) return;
            const blob = await response.blob();
            const previous = crop.src;
            crop.src = URL.createObjectURL(blob);
            if (previous.startsWith("blob:")) URL.revokeObjectURL(previous);
            crop.dataset.version = String(mine);
          } finally {
            crop.removeAttribute("aria-busy");
          }
        }),
      );
    }

    async function save(where) {
      const before = point;
      show(where);
      status.classList.remove("bad");
      status.textContent = "Saving…";
      let response;
      try {
        response = await fetch(endpoint, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
          body: JSON.stringify(where ? { x: round(where.x), y: round(where.y) } : {}),
        });
      } catch (_) {
        response = null;
      }
      if (!response || !response.ok) {
        status.classList.add("bad");
        status.textContent = response
          ? await errorOf(response)
          : "The focal point was not saved: the server did not answer";
        show(before);
        return;
      }
      const body = await response.json();
      point = body.focalPoint;
      show(point);
      if (clear) clear.hidden = !point;
      status.textContent = describe(point) + " Saved.";
      stage.dataset.saved = String(Number(stage.dataset.saved || 0) + 1);
      await refreshCrops();
    }

    show(point);
    if (!endpoint) return;

    stage.addEventListener("click", (event) => {
      const box = picture.getBoundingClientRect();
      if (!box.width || !box.height) return;
      save({
        x: clamp((event.clientX - box.left) / box.width),
        y: clamp((event.clientY - box.top) / box.height),
      });
    });
    stage.addEventListener("keydown", (event) => {
      const step = event.shiftKey ? 0.01 : 0.05;
      const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
      if (event.key === "Delete" || event.key === "Backspace") {
        event.preventDefault();
        save(null);
        return;
      }
      const move = moves[event.key];
      if (!move) return;
      event.preventDefault();
      const from = point || { x: 0.5, y: 0.5 };
      const to = { x: clamp(from.x + move[0]), y: clamp(from.y + move[1]) };
      point = to;
      show(to);
      status.textContent = describe(to);
      clearTimeout(timer);
      timer = setTimeout(() => save(to), 350);
    });
    if (clear) clear.addEventListener("click", () => save(null));
  }

  // -- URL builder -------------------------------------------------------------------------

  function initBuilder() {
    const form = $("#builder");
    if (!form) return;
    const output = $("#b-url", form);
    const status = $("#builder-status", form);
    const preview = $("#builder-preview", form);
    const size = $("#builder-size", form);
    const preset = $("#b-preset", form);
    let built = { url: output.value, markdown: "", html: "" };
    let sequence = 0;
    let timer = null;

    async function update() {
      const mine = ++sequence;
      const query = new URLSearchParams();
      for (const field of form.elements) {
        if (field.name && field.value && !field.disabled) query.set(field.name, field.value);
      }
      const response = await fetch(form.dataset.endpoint + "?" + query.toString(), {
        headers: { Accept: "application/json" },
      });
      if (mine !== sequence) return;
      if (!response.ok) {
        output.setAttribute("aria-invalid", "true");
        status.classList.add("bad");
        status.textContent = await errorOf(response);
        return;
      }
      built = await response.json();
      output.removeAttribute("aria-invalid");
      output.value = built.url;
      status.classList.remove("bad");
      status.textContent = "";
      preview.src = built.url;
      size.textContent =
        built.width && built.height ? built.width + " × " + built.height + " CSS pixels" : "";
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(update, 200);
    }

    if (preset) {
      const sync = () => {
        const chosen = Boolean(preset.value);
        for (const name of ["width", "height", "fit", "format", "quality"]) {
          const field = form.elements.namedItem(name);
          if (field && !field.hasAttribute("data-locked")) field.disabled = chosen;
        }
      };
      for (const field of form.elements) if (field.disabled) field.setAttribute("data-locked", "");
      preset.addEventListener("change", sync);
      sync();
    }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    form.addEventListener("submit", (event) => event.preventDefault());
    preview.addEventListener("error", () => {
      if (!preview.src) return;
      status.classList.add("bad");
      status.textContent = "The preview could not be loaded; the URL may be refused by this project's rules";
    });

    for (const button of $$("[data-copy]", form)) {
      button.addEventListener("click", async () => {
        if (timer) {
          clearTimeout(timer);
          timer = null;
          await update();
        }
        const kind = button.dataset.copy;
        const text = kind === "url" ? built.url || output.value : built[kind];
        if (!text) return;
        const ok = await copyText(text);
        status.classList.toggle("bad", !ok);
        status.textContent = ok ? "Copied " + button.textContent.replace("Copy ", "") + "." : "Copy failed: select the URL and copy it.";
      });
    }
    update();
  }

  // -- small things ------------------------------------------------------------------------

  function initCopyFrom() {
    for (const button of $$("[data-copy-from]")) {
      button.addEventListener("click", async () => {
        const source = document.getElementById(button.dataset.copyFrom);
        const ok = await copyText(source.value);
        const status = $("#copy-status");
        if (status) status.textContent = ok ? "Copied to the clipboard." : "Copy failed: select the key and copy it.";
        if (!ok) source.select();
      });
    }
  }

  function initDialogs() {
    for (const opener of $$("[data-dialog]")) {
      const dialog = document.getElementById(opener.dataset.dialog);
      if (!dialog || typeof dialog.showModal !== "function") continue;
      opener.addEventListener("click", () => dialog.showModal());
      for (const closer of $$("[data-close]", dialog)) {
        closer.addEventListener("click", () => dialog.close());
      }
    }
  }

  paint(document);
  retryPictures();
  initUploader();
  initInfiniteScroll();
  initFocal();
  initBuilder();
  initCopyFrom();
  initDialogs();
})();
