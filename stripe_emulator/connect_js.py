"""A stand-in for ``https://connect-js.stripe.com/v1.0/connect.js`` (Connect embedded
components), served from the emulator so the app's pages can load it from
``{STRIPE_API_BASE}/connect-js/v1.0/connect.js``.

Same surface as the real script: ``window.StripeConnect.init({publishableKey,
fetchClientSecret, appearance})`` → instance with ``create(tag)``, ``update()``, ``logout()``;
elements with ``setOnExit``, ``setOnLoadError``, ``setOnLoaderStart``,
``setOnNotificationsChange`` (and no-op versions of the other setters). The instance claims its
account session's client secret once; a second claim, an unknown or an expired secret fires
``setOnLoadError`` with ``authentication_error``. ``account-onboarding`` renders the onboarding
form in an iframe served by the emulator, completes KYC on submit and fires the exit callback.
"""

from __future__ import annotations

import html
import json
from typing import Any

from .resources import account_links
from .server import Request, Response, pages

CONNECT_JS = r"""/* Stripe emulator: connect.js stand-in (not Stripe's code). */
(function () {
  "use strict";
  var script = document.currentScript;
  var BASE = script ? new URL(script.src).origin : "";
  var TAGS = ["account-onboarding", "account-management", "notification-banner", "payments",
    "payment-details", "payment-disputes", "disputes-list", "payouts", "payouts-list",
    "payout-details", "balances", "documents", "tax-registrations", "tax-settings",
    "balance-report", "payout-reconciliation-report", "instant-payouts-promotion",
    "issuing-card", "issuing-cards-list", "financial-account",
    "financial-account-transactions", "reporting-chart"];
  var NOOP_SETTERS = ["setOnStepChange", "setCollectionOptions", "setFullTermsOfServiceUrl",
    "setRecipientTermsOfServiceUrl", "setPrivacyPolicyUrl", "setSkipTermsOfServiceCollection",
    "setDefaultFilters", "setPayment", "setPayout", "setOnClose",
    "setHideProductTaxCodeSelector", "setDisplayHeadOfficeCountries",
    "setOnTaxSettingsUpdated"];

  function componentKey(tag) { return tag.replace(/-/g, "_"); }

  function claim(secret) {
    return fetch(BASE + "/connect-js/v1.0/claim", {
      method: "POST",
      headers: {"Content-Type": "text/plain"},
      body: JSON.stringify({client_secret: secret})
    }).then(function (r) { return r.json(); }, function () {
      return {error: {type: "api_connection_error", message: "Could not reach Stripe."}};
    }).then(function (data) {
      if (data.error) { throw data.error; }
      return data;
    });
  }

  function makeElementClass(tag) {
    return class extends HTMLElement {
      constructor() {
        super();
        this._handlers = {};
        this._rendered = false;
        this._pendingError = null;
      }
      setOnExit(fn) { this._handlers.exit = fn; }
      setOnLoaderStart(fn) { this._handlers.loaderStart = fn; }
      setOnNotificationsChange(fn) { this._handlers.notifications = fn; }
      setOnLoadError(fn) {
        this._handlers.loadError = fn;
        if (this._pendingError) { var e = this._pendingError; this._pendingError = null; this._fail(e); }
      }
      _fail(error) {
        var payload = {error: {type: error.type, message: error.message}, elementTagName: this.tagName.toLowerCase()};
        this.setAttribute("data-load-error", error.type);
        if (this._handlers.loadError) { this._handlers.loadError(payload); }
        else { this._pendingError = error; }
      }
      connectedCallback() {
        if (this._rendered || !this._instance) { return; }
        this._rendered = true;
        var self = this;
        if (this._handlers.loaderStart) {
          this._handlers.loaderStart({elementTagName: this.tagName.toLowerCase()});
        }
        this._instance._claim.then(function (data) { self._render(data); },
                                   function (error) { self._fail(error); });
      }
      _render(data) {
        var key = componentKey(tag);
        var component = data.components[key];
        if (!component || !component.enabled) {
          this._fail({type: "invalid_request_error",
                      message: "The " + key + " component is not enabled in the account session."});
          return;
        }
        this.setAttribute("data-account", data.account);
        if (tag === "account-onboarding") { this._renderOnboarding(data); }
        else if (tag === "notification-banner") { this._renderBanner(data); }
        else {
          var box = document.createElement("div");
          box.setAttribute("data-testid", "emulated-" + tag);
          box.textContent = "Emulated Stripe component: " + tag + " (" + data.account + ")";
          this.appendChild(box);
        }
        this.setAttribute("data-ready", "true");
      }
      _renderOnboarding(data) {
        var self = this;
        var frame = document.createElement("iframe");
        frame.src = BASE + "/connect-js/v1.0/frame/" + data.frame_token + "/account_onboarding";
        frame.title = "Stripe onboarding";
        frame.style.width = "100%";
        frame.style.minHeight = "420px";
        frame.style.border = "0";
        window.addEventListener("message", function (event) {
          if (event.origin !== BASE || !event.data || event.data.source !== "stripe-emulator") { return; }
          if (event.data.frame !== data.frame_token) { return; }
          if (event.data.type === "exit" && self._handlers.exit) { self._handlers.exit(); }
        });
        this.appendChild(frame);
      }
      _renderBanner(data) {
        var reqs = data.requirements || {};
        var due = (reqs.currently_due || []).concat(reqs.past_due || []).filter(function (v, i, a) {
          return a.indexOf(v) === i;
        });
        var total = due.length + (reqs.pending_verification || []).length;
        if (due.length) {
          var box = document.createElement("div");
          box.setAttribute("role", "alert");
          box.setAttribute("data-testid", "notification-banner");
          box.textContent = "Stripe needs more information: " + due.join(", ");
          this.appendChild(box);
        }
        if (this._handlers.notifications) {
          this._handlers.notifications({total: total, actionRequired: due.length});
        }
      }
    };
  }

  TAGS.forEach(function (tag) {
    var name = "stripe-connect-" + tag;
    var cls = makeElementClass(tag);
    NOOP_SETTERS.forEach(function (setter) {
      if (!cls.prototype[setter]) { cls.prototype[setter] = function () {}; }
    });
    if (!customElements.get(name)) { customElements.define(name, cls); }
  });

  function init(params) {
    if (!params || typeof params.fetchClientSecret !== "function") {
      throw new Error("StripeConnect.init requires fetchClientSecret");
    }
    if (!params.publishableKey || params.publishableKey.indexOf("pk_") !== 0) {
      throw new Error("StripeConnect.init requires a publishableKey (pk_...)");
    }
    var instance = {
      options: {appearance: params.appearance || {}, locale: params.locale},
      _elements: [],
      create: function (tag) {
        if (TAGS.indexOf(tag) < 0) { throw new Error("Unknown component: " + tag); }
        var el = document.createElement("stripe-connect-" + tag);
        el._instance = instance;
        instance._elements.push(el);
        return el;
      },
      update: function (options) {
        instance.options = Object.assign({}, instance.options, options || {});
      },
      logout: function () {
        instance._elements.forEach(function (el) { el.innerHTML = ""; });
        return Promise.resolve();
      }
    };
    // Like Stripe's, the client secret is fetched eagerly at init.
    instance._claim = Promise.resolve().then(function () { return params.fetchClientSecret(); })
      .then(function (secret) { return claim(secret); });
    instance._claim.catch(function () {});
    return instance;
  }

  window.StripeConnect = window.StripeConnect || {};
  window.StripeConnect.init = init;
  window.StripeConnect.emulated = true;
})();
"""


@pages.route("GET", "/connect-js/v1.0/connect.js")
def connect_js(req: Request) -> Response:
    return Response(
        200,
        CONNECT_JS.encode(),
        {"Content-Type": "application/javascript; charset=utf-8", "Cache-Control": "no-cache"},
    )


@pages.route("POST", "/connect-js/v1.0/claim")
def claim(req: Request) -> Any:
    try:
        secret = str(json.loads(req.body or b"{}").get("client_secret") or "")
    except (ValueError, AttributeError):
        secret = ""
    result = account_links.claim_session(req.state, secret)
    return Response.json(result, 401 if "error" in result else 200)


@pages.route("GET", "/connect-js/v1.0/frame/{frame_token}/account_onboarding")
def onboarding_frame(req: Request, frame_token: str) -> Response:
    entry = req.state.token(frame_token, "embedded_frame")
    if entry is None:
        return Response.html("<p>Session expired.</p>", 404)
    account = req.state.find(entry["account"]) or {}
    action = f"/connect-js/v1.0/frame/{frame_token}/account_onboarding/submit"
    return Response.html(account_links.onboarding_form(account, action, embedded=True))


@pages.route("POST", "/connect-js/v1.0/frame/{frame_token}/account_onboarding/submit")
def onboarding_frame_submit(req: Request, frame_token: str) -> Response:
    entry = req.state.token(frame_token, "embedded_frame")
    if entry is None or entry.get("submitted"):
        return Response.html("<p>Session expired.</p>", 400)
    entry["submitted"] = True
    account = req.state.find(entry["account"])
    assert account is not None
    account_links.submit_onboarding(req.state, account, req.params)
    message = json.dumps({"source": "stripe-emulator", "type": "exit", "frame": frame_token})
    return Response.html(
        "<!doctype html><p data-testid='submitted'>Thanks — your information was submitted.</p>"
        f"<script>parent.postMessage({html.escape(message, quote=False)}, '*');</script>"
    )
