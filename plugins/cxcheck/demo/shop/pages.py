"""HTML pages of the demo shop.

Plain functions returning strings: the markup mimics django-oscar (field names, form ids, the
two forms on the login page) so a journey written against the demo reads like one written against
a real shop. Every dynamic value goes through esc(); every POST form carries the CSRF token.
"""

from __future__ import annotations

from html import escape


def esc(value) -> str:
    return escape(str(value), quote=True)


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def layout(title: str, body: str, user: str | None = None) -> str:
    who = (f'<span id="user">{esc(user)}</span> <a href="/accounts/">Account</a> '
           f'<a href="/accounts/logout/">Log out</a>' if user else '<a href="/accounts/login/">Log in</a>')
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)} | CX Demo Shop</title></head>
<body>
<nav><a href="/">Home</a> <a href="/catalogue/">Catalogue</a> <a href="/basket/">Basket</a> {who}</nav>
<main>
{body}
</main>
</body></html>
"""


def csrf_input(token: str) -> str:
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{esc(token)}">'


def messages(*lines: str) -> str:
    return "".join(f'<p class="error">{esc(line)}</p>\n' for line in lines if line)


def home(user):
    return layout("Home", """<h1>CX Demo Shop</h1>
<p>A small shop for trying monitoring plugins against.</p>
<ul><li><a href="/catalogue/">Browse all products</a></li>
<li><a href="/accounts/login/">Log in or register</a></li>
<li><a href="/basket/">Your basket</a></li></ul>""", user)


def login(csrf, user, redirect_url="", email="", errors=(), reg_email="", reg_errors=()):
    body = f"""<h1>Log in or register</h1>
<div style="display:flex; gap:3em">
<section><h2>Log in</h2>
{messages(*errors)}<form id="login_form" action="/accounts/login/" method="post">
{csrf_input(csrf)}
<label>Email <input type="email" name="login-username" value="{esc(email)}" required></label>
<label>Password <input type="password" name="login-password" required></label>
<input type="hidden" name="redirect_url" value="{esc(redirect_url)}">
<button type="submit" name="login_submit" value="Log In">Log In</button>
</form></section>
<section><h2>Register</h2>
{messages(*reg_errors)}<form id="register_form" action="/accounts/register/" method="post">
{csrf_input(csrf)}
<label>Email <input type="email" name="registration-email" value="{esc(reg_email)}" required></label>
<label>Password <input type="password" name="registration-password1" required></label>
<label>Confirm password <input type="password" name="registration-password2" required></label>
<button type="submit" name="registration_submit" value="Register">Register</button>
</form></section>
</div>"""
    return layout("Log in", body, user)


def account(user, orders):
    rows = "".join(f"<tr><td>Order #{o['id']}</td><td>{esc(o['status'])}</td><td>{money(o['total'])}</td></tr>\n"
                   for o in orders) or '<tr><td colspan="3">No orders yet.</td></tr>\n'
    return layout("Your account", f"""<h1>Your account</h1>
<p>Signed in as {esc(user)}</p>
<h2>Order history</h2>
<table id="orders"><tr><th>Order</th><th>Status</th><th>Total</th></tr>
{rows}</table>""", user)


def catalogue(csrf, user, products):
    items = "".join(f"""<li class="product"><h3>{esc(name)}</h3><p>SKU {esc(sku)} &middot; {money(price)}</p>
<form id="add_{esc(sku)}" action="/basket/add/" method="post">{csrf_input(csrf)}
<input type="hidden" name="sku" value="{esc(sku)}"><input type="hidden" name="quantity" value="1">
<button type="submit" name="add_to_basket" value="Add">Add to basket</button></form></li>
""" for sku, (name, price) in products.items())
    return layout("All products", f"<h1>All products</h1>\n<ul>\n{items}</ul>", user)


def basket_lines(lines) -> str:
    """lines: (sku, name, quantity, line_total_cents)."""
    rows = "".join(f"<tr><td>{esc(sku)}</td><td>{esc(name)}</td><td>{qty}</td><td>{money(total)}</td></tr>\n"
                   for sku, name, qty, total in lines)
    return f'<table id="basket"><tr><th>SKU</th><th>Product</th><th>Qty</th><th>Total</th></tr>\n{rows}</table>'


def basket(user, lines, total):
    if not lines:
        return layout("Your basket", '<h1>Your basket</h1>\n<p>Your basket is empty. '
                      '<a href="/catalogue/">All products</a></p>', user)
    return layout("Your basket", f"""<h1>Your basket</h1>
{basket_lines(lines)}
<p>Basket total: <span id="total">{money(total)}</span></p>
<form id="checkout_form" action="/checkout/address/" method="get">
<button type="submit">Proceed to checkout</button></form>
<p><a id="checkout" href="/checkout/address/">Proceed to checkout</a></p>""", user)


ADDRESS_FIELDS = ("first_name", "last_name", "line1", "postcode", "city")
PAYMENT_FIELDS = ("card_number", "expiry", "cvv")


def _text_inputs(names, values, types=None) -> str:
    types = types or {}
    return "\n".join(f'<label>{esc(n.replace("_", " ").capitalize())} <input type="{types.get(n, "text")}" '
                     f'name="{n}" value="{esc(values.get(n, ""))}" required></label>' for n in names)


def checkout_step(title: str, form_id: str, action: str, csrf: str, user, inner: str, errors=()):
    return layout(title, f"""<h1>Checkout: {esc(title)}</h1>
{messages(*errors)}<form id="{form_id}" action="{action}" method="post">
{csrf_input(csrf)}
{inner}
<button type="submit" name="continue" value="{esc(title)}">Continue</button>
</form>""", user)


def address(csrf, user, values, errors=()):
    return checkout_step("Shipping address", "address_form", "/checkout/address/", csrf, user,
                         _text_inputs(ADDRESS_FIELDS, values), errors)


def shipping(csrf, user, methods, chosen):
    radios = "\n".join(f'<label><input type="radio" name="method" value="{m}"{" checked" if m == chosen else ""}> '
                       f'{esc(label)} ({money(price)})</label>' for m, (label, price) in methods.items())
    return checkout_step("Shipping method", "shipping_form", "/checkout/shipping/", csrf, user, radios)


def payment(csrf, user, errors=()):
    # Card details are never echoed back into the form: a real shop must not, and neither do we.
    return checkout_step("Payment", "payment_form", "/checkout/payment/", csrf, user,
                         _text_inputs(PAYMENT_FIELDS, {}, {"cvv": "password"}), errors)


def confirm(csrf, user, lines, total, addr, ship_label, card_last4, errors=()):
    where = ", ".join(esc(addr.get(n, "")) for n in ADDRESS_FIELDS)
    return layout("Confirm your order", f"""<h1>Confirm your order</h1>
{messages(*errors)}{basket_lines(lines)}
<p>Deliver to: {where}</p>
<p>Shipping: {esc(ship_label)}</p>
<p>Card ending {esc(card_last4)}</p>
<p>Order total: <span id="total">{money(total)}</span></p>
<form id="place_order_form" action="/checkout/confirm/" method="post">
{csrf_input(csrf)}
<button type="submit" name="place_order" value="Place order">Place order</button>
</form>""", user)


def thank_you(user, order):
    return layout("Thank you", f"""<h1>Thank you for your order</h1>
<p id="order-number">Order #{order['id']}</p>
<p>Total charged: {money(order['total'])}</p>
<p><a href="/catalogue/">Continue shopping</a></p>""", user)


def problem(title: str, text: str, user=None):
    return layout(title, f"<h1>{esc(title)}</h1>\n<p>{esc(text)}</p>", user)
