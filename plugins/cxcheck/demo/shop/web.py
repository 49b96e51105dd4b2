"""The shop's HTML side: home, login and registration, account, catalogue, basket and the four
checkout steps, each guarded as a real shop guards it (login, CSRF, steps in order)."""

from __future__ import annotations

import re
import secrets
import time

from cxcheck.demo.shop import pages
from cxcheck.demo.shop.state import PRODUCTS, SHIPPING, Session

CHECKOUT_STEPS = ("address", "shipping", "payment", "confirm")


class WebRoutes:
    """Request handler part: the HTML pages and their forms."""

    def r_home(self):
        self.html(pages.home(self.session().user))

    def r_login_page(self):
        s = self.session()
        self.html(pages.login(s.csrf, s.user, self.safe_next(self.query.get("next", ""))))

    def r_login(self):
        form = self.checked_form()
        if form is None:
            return
        s = self.session()
        email, password = form.get("login-username", "").strip(), form.get("login-password", "")
        target = self.safe_next(form.get("redirect_url", ""))
        if email and self.shop.check_password(email, password):
            s.user, s.csrf = email.lower(), secrets.token_urlsafe(32)   # Django rotates the token at login
            self.redirect(target or "/accounts/")
            return
        errors = ["Please enter a correct username and password. Note that both fields may be case-sensitive."]
        if self.shop.faults["echo_password"]:
            errors.append(f"You typed: {password}")      # the bad habit plugins must mask
        self.html(pages.login(s.csrf, s.user, target, email, errors))

    def r_register(self):
        form = self.checked_form()
        if form is None:
            return
        s = self.session()
        email = form.get("registration-email", "").strip().lower()
        password, again = form.get("registration-password1", ""), form.get("registration-password2", "")
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            error = "Enter a valid email address."
        elif not password:
            error = "Enter a password."
        elif password != again:
            error = "The two password fields didn't match."
        elif not self.shop.add_account(email, password):
            error = "A user with that email address already exists."
        else:
            s.user, s.csrf = email, secrets.token_urlsafe(32)
            self.redirect("/accounts/")
            return
        self.html(pages.login(s.csrf, s.user, reg_email=email, reg_errors=[error]))

    def r_account(self):
        s = self.need_user()
        if s:
            self.html(pages.account(s.user, self.shop.orders_of(s.user)))

    def r_logout(self):
        s = self.session(create=False)
        if s:
            s.user, s.card_last4, s.checkout_started = None, None, None
        self.redirect("/")

    def r_catalogue(self):
        s = self.session()
        self.html(pages.catalogue(s.csrf, s.user, PRODUCTS))

    def r_basket_add(self):
        form = self.checked_form()
        if form is None:
            return
        s, sku, quantity = self.session(), form.get("sku", ""), form.get("quantity", "1")
        if sku not in PRODUCTS or not re.fullmatch(r"[0-9]{1,2}", quantity) or quantity in ("0", "00"):
            self.html(pages.problem("Bad request", "Unknown product or quantity."), 400)
            return
        s.basket[sku] = min(99, s.basket.get(sku, 0) + int(quantity))
        self.redirect("/basket/")

    def r_basket(self):
        s = self.session()
        self.html(pages.basket(s.user, *self.lines(s)))

    # -- checkout -------------------------------------------------------------------------------
    def checkout(self, step) -> Session | None:
        """The session if this checkout step may be shown, else None after redirecting to the
        step the customer has to do first, as a real shop does."""
        s = self.need_user()
        if s is None:
            return None
        if not s.basket:
            self.redirect("/basket/")
            return None
        done = {"address": bool(s.address), "shipping": bool(s.shipping), "payment": bool(s.card_last4)}
        for before in CHECKOUT_STEPS[:CHECKOUT_STEPS.index(step)]:
            if not done[before]:
                self.redirect(f"/checkout/{before}/")
                return None
        if s.checkout_started is None:
            s.checkout_started = time.monotonic()
        return s

    def r_address(self):
        s = self.checkout("address")
        if s:
            self.html(pages.address(s.csrf, s.user, s.address))

    def r_address_post(self):
        form = self.checked_form()
        s = form is not None and self.checkout("address")
        if not s:
            return
        values = {name: form.get(name, "").strip() for name in pages.ADDRESS_FIELDS}
        missing = [name for name, value in values.items() if not value]
        if missing:
            self.html(pages.address(s.csrf, s.user, values, [f"This field is required: {', '.join(missing)}."]))
            return
        s.address = values
        self.redirect("/checkout/shipping/")

    def r_shipping(self):
        s = self.checkout("shipping")
        if s:
            self.html(pages.shipping(s.csrf, s.user, SHIPPING, s.shipping or "standard"))

    def r_shipping_post(self):
        form = self.checked_form()
        s = form is not None and self.checkout("shipping")
        if not s:
            return
        if form.get("method", "standard") not in SHIPPING:
            self.html(pages.problem("Bad request", "Unknown shipping method."), 400)
            return
        s.shipping = form.get("method", "standard")
        self.redirect("/checkout/payment/")

    def r_payment(self):
        s = self.checkout("payment")
        if s:
            self.html(pages.payment(s.csrf, s.user))

    def r_payment_post(self):
        form = self.checked_form()
        s = form is not None and self.checkout("payment")
        if not s:
            return
        number = re.sub(r"[\s-]", "", form.get("card_number", ""))
        errors = []
        if not (number.isdigit() and 12 <= len(number) <= 19):
            errors.append("Enter a valid card number.")
        if not re.fullmatch(r"(0[1-9]|1[0-2]) ?/ ?(\d\d|\d{4})", form.get("expiry", "").strip()):
            errors.append("Enter the expiry date as MM/YY.")
        if not re.fullmatch(r"\d{3,4}", form.get("cvv", "").strip()):
            errors.append("Enter the 3 or 4 digit security code.")
        if errors:
            self.html(pages.payment(s.csrf, s.user, errors))
            return
        s.card_last4 = number[-4:]
        self.redirect("/checkout/confirm/")

    def confirm_page(self, s, errors=()):
        lines, total = self.lines(s)
        label, cost = SHIPPING[s.shipping]
        self.html(pages.confirm(s.csrf, s.user, lines, total + cost, s.address, label, s.card_last4, errors))

    def r_confirm(self):
        s = self.checkout("confirm")
        if s:
            self.confirm_page(s)

    def r_confirm_post(self):
        form = self.checked_form()
        s = form is not None and self.checkout("confirm")
        if not s:
            return
        order = self.shop.place_order(s.user, s.basket, SHIPPING[s.shipping][1], "web", s.checkout_started)
        if order is None:
            self.confirm_page(s, ["Payment declined: your card was not accepted. Please try again."])
            return
        s.basket.clear()
        s.card_last4 = s.checkout_started = None
        s.last_order = order["id"]
        self.redirect("/checkout/thank-you/")

    def r_thank_you(self):
        s = self.need_user()
        order = s and s.last_order and self.shop.order(s.last_order)
        if order:
            self.html(pages.thank_you(s.user, order))
        elif s:
            self.redirect("/")

    # -- helpers and the answers for URLs the table does not know -------------------------------
    @staticmethod
    def safe_next(url: str) -> str:
        # Local paths only: an open redirect would let a phishing link borrow our login page.
        return url if url.startswith("/") and not url.startswith(("//", "/\\")) else ""

    @staticmethod
    def lines(s: Session):
        lines = [(sku, PRODUCTS[sku][0], qty, PRODUCTS[sku][1] * qty) for sku, qty in s.basket.items()]
        return lines, sum(line[3] for line in lines)

    def r_not_found(self):
        if self.url_path.startswith("/api/"):
            self.json(404, {"error": "not found"})
        else:
            self.html(pages.problem("Page not found", "There is no page at this address."), 404)

    def r_not_allowed(self, allowed):
        self.respond(405, f"method {self.command} not allowed\n", "text/plain", {"Allow": ", ".join(allowed)})

    def r_append_slash(self):
        self.redirect(self.url_path + "/" + (f"?{self.query_string}" if self.query_string else ""), 301)
