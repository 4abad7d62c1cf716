// Secteur's few behaviours that htmx does not cover: lookup pickers, filter rows, column
// chooser, auto-submitting selects. No inline scripts anywhere (the CSP forbids them).
(function () {
  "use strict";

  function debounce(fn, ms) {
    let timer = null;
    return function () {
      const args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  // A fragment of a page (lookup options, a filter row). When the session has ended, the
  // request is sent on to the sign-in page: reload instead, which signs in and comes back here.
  function fragment(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (r.redirected && new URL(r.url).pathname === "/login") {
        window.location.reload();
        return new Promise(function () {});
      }
      return r.text();
    });
  }

  // Lookup picker: a search box over a hidden id input; options come from /m/<Module>/lookup.
  function initLookup(box) {
    if (box.dataset.ready) return;
    box.dataset.ready = "1";
    const hidden = box.querySelector("input[type=hidden]");
    const search = box.querySelector(".lookup-search");
    const list = box.querySelector(".lookup-options");
    const load = debounce(function () {
      fragment(box.dataset.lookup + "?q=" + encodeURIComponent(search.value))
        .then(function (html) {
          list.innerHTML = html;
          list.hidden = false;
          search.setAttribute("aria-expanded", "true");
        });
    }, 200);
    search.addEventListener("input", function () {
      if (search.value.trim() === "") { hidden.value = ""; hidden.dispatchEvent(new Event("change", { bubbles: true })); }
      load();
    });
    search.addEventListener("focus", load);
    search.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown") { const first = list.querySelector(".option"); if (first) { e.preventDefault(); first.focus(); } }
      if (e.key === "Escape") { list.hidden = true; }
    });
    list.addEventListener("keydown", function (e) {
      const current = document.activeElement;
      if (!current || !current.classList.contains("option")) return;
      const items = Array.from(list.querySelectorAll(".option"));
      const at = items.indexOf(current);
      if (e.key === "ArrowDown" && at < items.length - 1) { e.preventDefault(); items[at + 1].focus(); }
      if (e.key === "ArrowUp") { e.preventDefault(); (at > 0 ? items[at - 1] : search).focus(); }
      if (e.key === "Escape") { list.hidden = true; search.focus(); }
    });
    list.addEventListener("click", function (e) {
      const option = e.target.closest(".option");
      if (!option) return;
      hidden.value = option.dataset.id;
      search.value = option.dataset.name;
      list.hidden = true;
      search.setAttribute("aria-expanded", "false");
      hidden.dispatchEvent(new Event("change", { bubbles: true }));
      search.focus();
    });
    document.addEventListener("click", function (e) { if (!box.contains(e.target)) list.hidden = true; });
  }

  function initAll(root) {
    root.querySelectorAll(".lookup").forEach(initLookup);
  }

  document.addEventListener("DOMContentLoaded", function () { initAll(document); });
  // Rows drawn by other scripts ask for their pickers to be set up.
  document.addEventListener("lookup:init", function (e) { initLookup(e.target); });
  document.addEventListener("htmx:afterSwap", function (e) { initAll(e.target.parentNode || document); });

  document.addEventListener("click", function (e) {
    const remove = e.target.closest("[data-remove-row]");
    if (remove) {
      const form = remove.closest("form");
      const rows = form.querySelectorAll(".filter-row");
      const row = remove.closest(".filter-row");
      if (rows.length > 1) { row.remove(); } else { row.querySelectorAll("input, select").forEach(function (el) { el.value = ""; }); }
      form.dispatchEvent(new Event("filter-changed"));
      return;
    }
    const add = e.target.closest("[data-add-row]");
    if (add) {
      const form = add.closest("form");
      const used = Array.from(form.querySelectorAll(".filter-row")).map(function (r) { return parseInt(r.id.replace("filter-row-", ""), 10); });
      const next = used.length ? Math.max.apply(null, used) + 1 : 0;
      if (next >= 25) return;
      fragment(add.dataset.addRow + "?i=" + next)
        .then(function (html) {
          const holder = document.createElement("div");
          holder.innerHTML = html;
          const row = holder.firstElementChild;
          form.querySelector("#filter-rows").appendChild(row);
          if (window.htmx) window.htmx.process(row);
          initAll(row);
          const select = row.querySelector("select");
          if (select) select.focus();
        });
    }
  });

  // Column chooser: the checked boxes become one `cols` parameter, in the order shown.
  document.addEventListener("submit", function (e) {
    const form = e.target;
    if (!form.matches("[data-columns]")) return;
    const chosen = Array.from(form.querySelectorAll(".checks input:checked")).map(function (c) { return c.value; });
    form.querySelector("input[name=cols]").value = chosen.join(",");
  });

  document.addEventListener("change", function (e) {
    if (e.target.matches("select[data-autosubmit]")) e.target.form.submit();
  });
})();

// Settings pages: inputs shown only for some field types, picklist rows moved and added,
// copying a set-password link.
(function () {
  "use strict";

  function showForType(form) {
    const select = form.querySelector("[data-type-select]");
    if (!select) return;
    form.querySelectorAll("[data-show-for]").forEach(function (el) {
      el.hidden = el.dataset.showFor.split(" ").indexOf(select.value) < 0;
    });
  }

  function renumber(list) {
    list.querySelectorAll(".value-row").forEach(function (row, i) {
      const pos = row.querySelector(".value-pos");
      if (pos) pos.textContent = String(i + 1);
      row.querySelectorAll("[data-move]").forEach(function (b) { b.setAttribute("aria-label", "Move value " + (i + 1) + " " + b.dataset.move); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-field-form]").forEach(showForType);
  });

  document.addEventListener("change", function (e) {
    if (e.target.matches("[data-type-select]")) showForType(e.target.form);
  });

  document.addEventListener("focusin", function (e) {
    if (e.target.matches("[data-select-on-focus]")) e.target.select();
  });

  document.addEventListener("click", function (e) {
    const move = e.target.closest("[data-move]");
    if (move) {
      const row = move.closest(".value-row");
      const list = row.parentNode;
      if (move.dataset.move === "up" && row.previousElementSibling) {
        list.insertBefore(row, row.previousElementSibling);
      } else if (move.dataset.move === "down" && row.nextElementSibling) {
        list.insertBefore(row.nextElementSibling, row);
      }
      renumber(list);
      move.focus();
      return;
    }
    const add = e.target.closest("[data-add-value]");
    if (add) {
      const list = add.parentNode.querySelector("[data-value-rows]");
      const last = list.querySelector(".value-row:last-child");
      if (!last) return;
      const row = last.cloneNode(true);
      row.querySelector("input[name=value_id]").value = "";
      const input = row.querySelector("input[name=value]");
      input.value = "";
      input.id = "value-new-" + list.children.length;
      input.placeholder = "New value";
      const label = row.querySelector("label.sr-only");
      if (label) { label.htmlFor = input.id; label.textContent = "New value"; }
      const remove = row.querySelector("label.remove");
      if (remove) remove.replaceWith(Object.assign(document.createElement("span"), { className: "remove" }));
      list.appendChild(row);
      renumber(list);
      input.focus();
      return;
    }
    const copy = e.target.closest("[data-copy]");
    if (copy) {
      const input = document.querySelector(copy.dataset.copy);
      if (!input) return;
      input.select();
      const done = function () { copy.textContent = "Copied"; setTimeout(function () { copy.textContent = "Copy"; }, 2000); };
      if (navigator.clipboard) navigator.clipboard.writeText(input.value).then(done, function () {});
      else if (document.execCommand("copy")) done();
    }
  });
})();

// Territory tree: open/close a level (children load once, on first opening), and move a
// territory by dragging it onto its new parent.
(function () {
  "use strict";

  function csrfToken() {
    const tree = document.querySelector(".ttree");
    return tree ? tree.dataset.csrf : "";
  }

  document.addEventListener("click", function (e) {
    const toggle = e.target.closest(".ttree .toggle");
    if (!toggle) return;
    const item = toggle.closest("li");
    const kids = item.querySelector(":scope > ul.kids");
    const open = item.getAttribute("aria-expanded") === "true";
    const name = item.querySelector(":scope > .tnode .tname").textContent;
    if (open) {
      kids.hidden = true;
      item.setAttribute("aria-expanded", "false");
      toggle.textContent = "▸";
      toggle.setAttribute("aria-label", "Expand " + name);
      return;
    }
    const show = function () {
      kids.hidden = false;
      item.setAttribute("aria-expanded", "true");
      toggle.textContent = "▾";
      toggle.setAttribute("aria-label", "Collapse " + name);
    };
    if (toggle.hasAttribute("data-loaded")) { show(); return; }
    toggle.setAttribute("aria-busy", "true");
    fetch(toggle.dataset.children, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        kids.innerHTML = html;
        toggle.setAttribute("data-loaded", "");
        toggle.removeAttribute("aria-busy");
        show();
      });
  });

  let dragged = null;
  document.addEventListener("dragstart", function (e) {
    const item = e.target.closest && e.target.closest(".ttree li[draggable]");
    if (!item) return;
    dragged = item;
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", item.dataset.id);
    item.classList.add("dragging");
  });
  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    document.querySelectorAll(".tnode.drop-target").forEach(function (n) { n.classList.remove("drop-target"); });
    dragged = null;
  });
  document.addEventListener("dragover", function (e) {
    const node = e.target.closest && e.target.closest(".ttree .tnode");
    if (!node || !dragged || dragged.contains(node)) return;
    e.preventDefault();
    document.querySelectorAll(".tnode.drop-target").forEach(function (n) { if (n !== node) n.classList.remove("drop-target"); });
    node.classList.add("drop-target");
  });
  document.addEventListener("drop", function (e) {
    const node = e.target.closest && e.target.closest(".ttree .tnode");
    if (!node || !dragged || dragged.contains(node)) return;
    e.preventDefault();
    const parent = node.closest("li").dataset.id;
    const moving = dragged.dataset.id;
    const tree = document.querySelector(".ttree");
    const body = new URLSearchParams({ parent: parent, csrf_token: csrfToken() });
    fetch(tree.dataset.moveUrl.replace("{id}", moving), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString(),
    }).then(function (r) { window.location.href = r.url; });
  });

  // Rule editor: typing in the JSON switches the form to JSON mode.
  document.addEventListener("input", function (e) {
    const editor = e.target.closest("[data-json-editor]");
    if (!editor) return;
    const form = editor.form;
    form.querySelector("input[name=mode]").value = "json";
    const rows = form.querySelector(".rows-mode");
    if (rows) { rows.hidden = true; rows.disabled = true; }
  });
})();

// Filter rows: an operator that takes another number of values (is empty, is between…) redraws
// its row; one that takes the same keeps it, so what is being typed is never replaced.
(function () {
  "use strict";
  document.addEventListener("change", function (e) {
    const select = e.target.closest && e.target.closest("select[data-row-url]");
    if (!select) return;
    const before = select.dataset.arity;
    const after = select.selectedOptions[0].dataset.arity;
    select.dataset.arity = after;
    if (before === after) return;
    const row = select.closest(".filter-row");
    const params = new URLSearchParams();
    row.querySelectorAll("input, select").forEach(function (el) {
      if (!el.name) return;
      if (el.multiple) { Array.from(el.selectedOptions).forEach(function (o) { params.append(el.name, o.value); }); }
      else { params.append(el.name, el.value); }
    });
    fetch(select.dataset.rowUrl + "&" + params.toString(), { credentials: "same-origin" })
      .then(function (r) {
        if (r.redirected || r.status === 204) { window.location.reload(); return null; }
        return r.text();
      })
      .then(function (html) {
        if (html === null) return;
        const holder = document.createElement("div");
        holder.innerHTML = html;
        const fresh = holder.firstElementChild;
        row.replaceWith(fresh);
        if (window.htmx) window.htmx.process(fresh);
        fresh.querySelectorAll(".lookup").forEach(function (box) { box.dispatchEvent(new Event("lookup:init", { bubbles: true })); });
        const form = fresh.closest("form");
        if (form) form.dispatchEvent(new Event("filter-changed"));
      });
  });
})();
