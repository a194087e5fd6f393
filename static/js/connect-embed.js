// Mounts Stripe Connect embedded components (connect.js) into elements marked with
// data-connect-js. connect.js fails silently when it cannot load (no error callback, no
// timeout), so we race our own timer and reveal the server-rendered fallback instead.
(function () {
  "use strict";
  const LOAD_TIMEOUT_MS = 8000;
  const TAGS = { account_onboarding: "account-onboarding", notification_banner: "notification-banner" };

  function loadScript(src) {
    if (window.StripeConnect && typeof window.StripeConnect.init === "function") {
      return Promise.resolve(window.StripeConnect);
    }
    return new Promise(function (resolve, reject) {
      const script = document.createElement("script");
      script.src = src;
      script.async = true;
      const timer = setTimeout(function () { reject(new Error("timeout")); }, LOAD_TIMEOUT_MS);
      script.onload = function () {
        clearTimeout(timer);
        if (window.StripeConnect && typeof window.StripeConnect.init === "function") {
          resolve(window.StripeConnect);
        } else {
          reject(new Error("connect.js did not define StripeConnect"));
        }
      };
      script.onerror = function () { clearTimeout(timer); reject(new Error("load error")); };
      document.head.appendChild(script);
    });
  }

  function showFallback(el, message) {
    const loading = el.querySelector("[data-loading]");
    if (loading) loading.hidden = true;
    const fallback = document.getElementById(el.dataset.fallback || "");
    if (fallback) {
      fallback.hidden = false;
      const text = fallback.querySelector("[data-reason]");
      if (text && message) text.textContent = message;
    } else if (el.dataset.component === "notification_banner") {
      el.hidden = true;  // the banner is an extra; the page already lists what is due
    }
  }

  function mount(el) {
    const component = el.dataset.component;
    const csrf = el.querySelector("[name=csrfmiddlewaretoken]") || document.querySelector("[name=csrfmiddlewaretoken]");
    loadScript(el.dataset.connectJs).then(function (StripeConnect) {
      const instance = StripeConnect.init({
        publishableKey: el.dataset.publishableKey,
        fetchClientSecret: async function () {
          const body = new URLSearchParams();
          body.append("component", component);
          const response = await fetch(el.dataset.sessionUrl, {
            method: "POST",
            headers: { "X-CSRFToken": csrf ? csrf.value : "" },
            body: body,
            credentials: "same-origin",
          });
          const data = await response.json();
          if (!response.ok) throw new Error(data.error || "Could not start embedded onboarding");
          return data.clientSecret;
        },
        appearance: { variables: { colorPrimary: "#3b5bdb", fontFamily: "system-ui, sans-serif" } },
      });
      const element = instance.create(TAGS[component]);
      element.setOnLoadError(function (event) {
        showFallback(el, "Stripe’s form could not be shown here (" + event.error.type + ").");
      });
      if (element.setOnLoaderStart) {
        element.setOnLoaderStart(function () {
          const loading = el.querySelector("[data-loading]");
          if (loading) loading.hidden = true;
        });
      }
      if (component === "account_onboarding" && el.dataset.returnUrl) {
        element.setOnExit(function () { window.location.assign(el.dataset.returnUrl); });
      }
      el.appendChild(element);
    }).catch(function () {
      showFallback(el, "Stripe’s onboarding form did not load in time.");
    });
  }

  document.querySelectorAll("[data-connect-js]").forEach(mount);
})();
