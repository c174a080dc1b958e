#!/usr/bin/env python3
"""Stripe's official Python client against specstub serving Stripe's OpenAPI description.

    python3 benches/stripe_client.py URL

Runs the basic flow with `stripe.api_base` pointed at URL and a test key: create, list, retrieve
and update a customer; create a product and a payment intent; retrieve an unknown customer,
which must raise `stripe.InvalidRequestError` saying what is wrong. Every step asserts on the
typed objects the client returns. Prints one line per step; exits 1 on the first failure.
benches/stripe.sh installs the client, starts the server and runs this.
"""

import sys

import stripe


def step(name, check):
    try:
        detail = check()
    except Exception as error:  # noqa: BLE001 - any failure of a step is reported the same way
        print(f"FAIL {name}: {type(error).__name__}: {error}")
        sys.exit(1)
    print(f"ok   {name}" + (f": {detail}" if detail else ""))


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: stripe_client.py URL")
    stripe.api_base = sys.argv[1].rstrip("/")
    stripe.api_key = "sk_test_specstub"
    # A retry would hide a first answer that was wrong.
    stripe.max_network_retries = 0
    state = {}

    def create_customer():
        customer = stripe.Customer.create(
            email="ada@example.com",
            name="Ada Lovelace",
            metadata={"order": "1"},
            idempotency_key="specstub-flow-1",
        )
        expect(isinstance(customer, stripe.Customer), f"not a Customer: {type(customer)}")
        expect(customer.object == "customer", f"object is {customer.object!r}")
        expect(isinstance(customer.id, str) and customer.id, f"id is {customer.id!r}")
        expect(customer.email == "ada@example.com", f"email is {customer.email!r}")
        expect(customer.name == "Ada Lovelace", f"name is {customer.name!r}")
        expect(customer.metadata["order"] == "1", f"metadata is {customer.metadata!r}")
        expect(isinstance(customer.created, int), f"created is {customer.created!r}")
        expect(customer.livemode is False, f"livemode is {customer.livemode!r}")
        state["customer"] = customer.id
        return customer.id

    def list_customers():
        page = stripe.Customer.list(limit=10)
        expect(page.object == "list", f"object is {page.object!r}")
        expect(page.url == "/v1/customers", f"url is {page.url!r}")
        expect(page.has_more is False, f"has_more is {page.has_more!r}")
        ids = [c.id for c in page.data]
        expect(state["customer"] in ids, f"{state['customer']} not in {ids}")
        expect(all(isinstance(c, stripe.Customer) for c in page.data), "an item is not a Customer")
        return f"{len(ids)} customer(s)"

    def retrieve_customer():
        customer = stripe.Customer.retrieve(state["customer"])
        expect(isinstance(customer, stripe.Customer), f"not a Customer: {type(customer)}")
        expect(customer.id == state["customer"], f"id is {customer.id!r}")
        expect(customer.email == "ada@example.com", f"email is {customer.email!r}")

    def update_customer():
        updated = stripe.Customer.modify(
            state["customer"], name="Ada King", metadata={"order": "2"}
        )
        expect(updated.name == "Ada King", f"name is {updated.name!r}")
        again = stripe.Customer.retrieve(state["customer"])
        expect(again.name == "Ada King", f"the retrieve shows name {again.name!r}")
        expect(again.email == "ada@example.com", f"the update lost the email: {again.email!r}")
        expect(again.metadata["order"] == "2", f"metadata is {again.metadata!r}")

    def retrieve_expanded():
        customer = stripe.Customer.retrieve(state["customer"], expand=["default_source"])
        expect(customer.id == state["customer"], f"id is {customer.id!r}")

    def create_product():
        product = stripe.Product.create(name="Analytical Engine", metadata={"gears": "many"})
        expect(isinstance(product, stripe.Product), f"not a Product: {type(product)}")
        expect(product.object == "product", f"object is {product.object!r}")
        expect(isinstance(product.id, str) and product.id, f"id is {product.id!r}")
        expect(product.name == "Analytical Engine", f"name is {product.name!r}")
        again = stripe.Product.retrieve(product.id)
        expect(again.name == "Analytical Engine", f"the retrieve shows name {again.name!r}")
        return product.id

    def create_payment_intent():
        intent = stripe.PaymentIntent.create(
            amount=2000,
            currency="usd",
            customer=state["customer"],
            payment_method_types=["card"],
        )
        expect(isinstance(intent, stripe.PaymentIntent), f"not a PaymentIntent: {type(intent)}")
        expect(intent.object == "payment_intent", f"object is {intent.object!r}")
        expect(isinstance(intent.id, str) and intent.id, f"id is {intent.id!r}")
        expect(intent.amount == 2000, f"amount is {intent.amount!r}")
        expect(intent.currency == "usd", f"currency is {intent.currency!r}")
        expect(intent.customer == state["customer"], f"customer is {intent.customer!r}")
        return intent.id

    def unknown_customer():
        try:
            stripe.Customer.retrieve("cus_doesnotexist")
        except stripe.InvalidRequestError as error:
            message = error.user_message or str(error)
            expect(error.http_status == 404, f"status is {error.http_status}")
            expect("cus_doesnotexist" in message, f"the message does not name the id: {message!r}")
            expect(message.strip() != "string", f"the message is a placeholder: {message!r}")
            expect(error.error is not None and error.error.type == "invalid_request_error",
                   f"error.type is {getattr(error.error, 'type', None)!r}")
            return message
        raise AssertionError("no stripe.InvalidRequestError raised")

    step("create a customer", create_customer)
    step("list customers", list_customers)
    step("retrieve the customer", retrieve_customer)
    step("update the customer", update_customer)
    step("retrieve with expand[]", retrieve_expanded)
    step("create a product", create_product)
    step("create a payment intent", create_payment_intent)
    step("retrieve an unknown customer", unknown_customer)
    print("stripe client flow: all steps passed")


if __name__ == "__main__":
    main()
