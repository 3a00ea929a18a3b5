// streamgate dashboard: the few things a page cannot do without script.
document.addEventListener("DOMContentLoaded", () => {
  // Dialogs: <button data-open="id"> opens <dialog id>, [data-close] closes it.
  for (const b of document.querySelectorAll("[data-open]")) {
    b.addEventListener("click", () => document.getElementById(b.dataset.open).showModal());
  }
  for (const b of document.querySelectorAll("[data-close]")) {
    b.addEventListener("click", () => b.closest("dialog").close());
  }
  // A checkbox with data-reveals="id" shows that element while ticked.
  for (const c of document.querySelectorAll("[data-reveals]")) {
    const target = document.getElementById(c.dataset.reveals);
    const sync = () => { target.hidden = !c.checked; };
    c.addEventListener("change", sync);
    sync();
  }
  // "Add origin" appends another origin field.
  for (const b of document.querySelectorAll("[data-add-origin]")) {
    b.addEventListener("click", () => {
      const list = document.getElementById(b.dataset.addOrigin);
      const input = list.querySelector("input").cloneNode();
      input.value = "";
      list.appendChild(input);
      input.focus();
    });
  }
  // Forms that ask first: <form data-confirm="Revoke key x?">.
  for (const f of document.querySelectorAll("form[data-confirm]")) {
    f.addEventListener("submit", (e) => { if (!confirm(f.dataset.confirm)) e.preventDefault(); });
  }
  // Copy buttons.
  for (const b of document.querySelectorAll("[data-copy]")) {
    b.addEventListener("click", async () => {
      const text = document.getElementById(b.dataset.copy).textContent.trim();
      try { await navigator.clipboard.writeText(text); b.textContent = "Copied"; }
      catch { b.textContent = "Select and copy"; }
    });
  }
  // Narrow screens show table rows as cards: each cell is labelled with its column's heading.
  for (const t of document.querySelectorAll("table")) {
    const heads = [...t.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    for (const tr of t.querySelectorAll("tbody tr")) {
      [...tr.children].forEach((td, i) => { if (heads[i]) td.dataset.label = heads[i]; });
    }
  }
  // The environment switch submits itself.
  for (const s of document.querySelectorAll("[data-autosubmit]")) {
    s.addEventListener("change", () => s.form.submit());
  }
});
