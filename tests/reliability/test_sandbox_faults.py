"""The sandbox gateway's fault-injection amounts and its effects ledger (in process)."""

import threading

import pytest

from payments.gateways import GatewayTimeout, sandbox
from payments.gateways.sandbox import MemoryLedger, SandboxGateway

pytestmark = pytest.mark.reliability


@pytest.fixture
def gateway(monkeypatch):
    monkeypatch.setattr(sandbox, "PAUSE_SECONDS", 0.01)
    return SandboxGateway(ledger=MemoryLedger(), timeout_ms=1)


def test_a_key_performs_once_however_often_it_is_sent(gateway):
    first = gateway.refund(reference="sbx_pi_1", amount=700, idempotency_key="k1")
    again = gateway.refund(reference="sbx_pi_1", amount=700, idempotency_key="k1")
    gateway.refund(reference="sbx_pi_1", amount=700, idempotency_key="k2")

    assert first == again
    assert [e["idempotency_key"] for e in gateway.ledger.effects()] == ["k1", "k2"]
    assert len(gateway.ledger.calls()) == 3


def test_concurrent_calls_with_one_key_perform_once(gateway):
    barrier = threading.Barrier(8)

    def send():
        barrier.wait()
        gateway.refund(reference="sbx_pi_1", amount=700, idempotency_key="same")

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(gateway.ledger.effects()) == 1
    assert len(gateway.ledger.calls()) == 8


def test_504_performs_then_times_out_and_a_retry_answers_without_a_second_effect(gateway):
    with pytest.raises(GatewayTimeout):
        gateway.refund(reference="sbx_pi_1", amount=504, idempotency_key="k")
    assert len(gateway.ledger.effects()) == 1

    gateway.refund(reference="sbx_pi_1", amount=504, idempotency_key="k")
    assert len(gateway.ledger.effects()) == 1
    assert len(gateway.ledger.calls()) == 2


def test_declines_and_503s_perform_nothing(gateway):
    with pytest.raises(sandbox.GatewayDeclined):
        gateway.refund(reference="sbx_pi_1", amount=667, idempotency_key="declined")
    with pytest.raises(sandbox.GatewayTransientError):
        gateway.refund(reference="sbx_pi_1", amount=503, idempotency_key="flaky")
    assert gateway.ledger.effects() == []


@pytest.mark.parametrize(
    ("amount", "mark"),
    [
        (sandbox.PAUSE_BEFORE_CALL_AMOUNT, "pause-before"),
        (sandbox.PAUSE_AFTER_EFFECT_AMOUNT, "pause-after"),
    ],
)
def test_pauses_happen_on_the_first_call_with_a_key_only(gateway, monkeypatch, amount, mark):
    pauses = []
    monkeypatch.setattr(sandbox.time, "sleep", pauses.append)

    gateway.void(reference="sbx_pi_1", amount=amount, idempotency_key="k")
    gateway.void(reference="sbx_pi_1", amount=amount, idempotency_key="k")

    assert pauses == [sandbox.PAUSE_SECONDS]
    assert gateway.ledger.marks() == {f"{mark}:void:k"}
    assert len(gateway.ledger.effects()) == 1


def test_authorizations_of_the_fault_amounts_behave_normally(gateway, monkeypatch):
    pauses = []
    monkeypatch.setattr(sandbox.time, "sleep", pauses.append)
    for amount in (504, 701, 702):
        gateway.authorize(amount=amount, currency="USD", capture=True, idempotency_key=f"a{amount}")
    assert pauses == []
    assert len(gateway.ledger.effects()) == 3
