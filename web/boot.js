// Starts the kpsim WASM app and reports when it cannot.
//
// Trunk's default loader is an inline <script>, which the page's Content-Security-Policy
// (`script-src 'self'`) forbids; Trunk.toml's `pattern_script` puts this external module in its
// place, with the hashed file names in data attributes. Not responsible for anything the app
// does once started.

const boot = document.querySelector('script[data-kpsim-js]');
const status = document.getElementById('loading');

/** Shows `message` (as text, never HTML) in place of the loading indicator. */
function fail(message, error) {
  console.error(message, error);
  status.hidden = false;
  status.classList.add('failed');
  status.setAttribute('role', 'alert');
  status.textContent = message;
  if (error) {
    const detail = document.createElement('pre');
    detail.textContent = String(error);
    status.append(detail);
  }
}

try {
  if (typeof WebAssembly !== 'object') {
    throw new Error('this browser does not support WebAssembly');
  }
  const { default: init } = await import(boot.dataset.kpsimJs);
  await init({ module_or_path: boot.dataset.kpsimWasm });
  status.hidden = true;
  // With `panic = "abort"` a bug in the app surfaces as a WebAssembly trap: say so instead of
  // leaving a page that silently stopped reacting.
  window.addEventListener('error', (event) => {
    if (event.error instanceof WebAssembly.RuntimeError) {
      fail('kpsim stopped after an internal error (a bug). Reload the page to start again.', event.error);
    }
  });
} catch (error) {
  fail('kpsim could not start: its WebAssembly module failed to load. Reload the page; if it keeps failing, rebuild with `cargo xtask serve`.', error);
}
