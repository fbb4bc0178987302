"""A client generated from openapi.yaml with openapi-python-client works without hand fixes:
a storefront flow and a carrier flow against a live local server."""

import importlib
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.live import cli, running_server

CONTRACT = Path(__file__).resolve().parents[2] / "openapi.yaml"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture(scope="module")
def privacy_client(tmp_path_factory):
    """The generated package, imported from a temporary folder."""
    if not GENERATOR.exists() and not shutil.which("openapi-python-client"):
        pytest.skip("openapi-python-client is not installed")
    folder = tmp_path_factory.mktemp("generated")
    generated = subprocess.run(
        [str(GENERATOR if GENERATOR.exists() else "openapi-python-client"), "generate",
         "--path", str(CONTRACT), "--meta", "none", "--output-path",
         str(folder / "privacy_client")], capture_output=True, text=True, timeout=300)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("privacy_client")
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m.split(".")[0] == "privacy_client"]:
            del sys.modules[name]


def _module(package, name: str):
    return importlib.import_module(f"{package.__name__}.{name}")


def test_storefront_and_carrier_flows(privacy_client, tmp_path):
    api = lambda tag, action: _module(privacy_client, f"api.{tag}.{tag}_{action}")  # noqa: E731
    models = _module(privacy_client, "models")
    with running_server(tmp_path) as (base, env):
        def client_for(*args: str):
            token = cli("token", *args, env=env, cwd=tmp_path).stdout.strip()
            return privacy_client.AuthenticatedClient(base_url=base, token=token,
                                                      raise_on_unexpected_status=True)

        storefront = client_for("--role", "storefront", "--sub", "shop")
        agent = client_for("--role", "support_agent", "--sub", "agent-7")
        officer = client_for("--role", "privacy_officer", "--sub", "dpo")
        registered = api("partners", "register_partner").sync(client=officer, body=(
            models.PartnerCreate(
                id="swiftship", kind=models.PartnerKind.LOGISTICS, display_name="SwiftShip Ltd.",
                agreement_reference="DPA-2026-014", agreement_starts_on=date(2026, 1, 1),
                agreement_ends_on=date(2030, 12, 31),
                webhook_url="http://127.0.0.1:9/hooks")))
        assert isinstance(registered, models.PartnerSecret), registered
        carrier = client_for("--role", "logistics_partner", "--sub", "carrier-bot",
                             "--partner-id", "swiftship")

        customer = api("identity", "create_customer").sync(client=storefront, body=(
            models.CustomerCreate(name="Client Tester", email="client.tester@example.com",
                                  phone="+8613800138000")))
        assert isinstance(customer, models.Receipt), customer
        address = api("addresses", "add_address").sync(
            customer.id, client=storefront, body=models.AddressCreate(
                recipient_name="Client Tester", country="CN", city="Shenzhen",
                street="Keyuan Road", house_number="18", postal_code="518057"))
        assert isinstance(address, models.Receipt), address
        placed = api("orders", "place_order").sync(client=storefront, body=models.OrderCreate(
            order_number="HG-2026-900001", customer_id=customer.id,
            shipping_address_id=address.id, currency="EUR",
            items=[models.OrderItemIn(product_name="Dog chew rope", quantity=2,
                                      unit_price="4.50")],
            total_amount="9.00", payment_method=models.PaymentMethod.PAYPAL,
            logistics_partner_id="swiftship"))
        assert isinstance(placed, models.OrderReceipt), placed
        order = api("orders", "read_order").sync(placed.order_number, client=agent,
                                                 x_purpose="service")
        assert isinstance(order, models.OrderView), order
        assert (order.customer_id, order.total_amount) == (customer.id, "9.00")
        assert order.items[0].unit_price == "4.50"

        shipment = api("orders", "read_order").sync(placed.order_number, client=carrier,
                                                    x_purpose="delivery")
        assert isinstance(shipment, models.OrderView), shipment
        assert shipment.shipping_address.city == "Shenzhen"
        assert isinstance(shipment.total_amount, privacy_client.types.Unset)
        for status in (models.FulfilmentUpdateStatus.SHIPPED,
                       models.FulfilmentUpdateStatus.DELIVERED):
            receipt = api("orders", "record_fulfilment").sync(
                placed.order_number, client=carrier, body=models.FulfilmentUpdate(status=status))
            assert isinstance(receipt, models.OrderReceipt), receipt
        gone = api("orders", "read_order").sync(placed.order_number, client=carrier,
                                                x_purpose="delivery")
        assert isinstance(gone, models.Problem) and gone.code == "shipment_delivered"
        delivered = api("orders", "read_order").sync(placed.order_number, client=agent,
                                                     x_purpose="service")
        assert delivered.fulfilment_status == models.FulfilmentStatus.DELIVERED
