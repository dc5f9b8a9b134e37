"""Seal (sign envelope + data item) and publish one event; keep failures retryable.

`Anchorer` is plain configuration — building one reads no file, no environment and opens
no connection (`Anchorer.from_environment` is the explicit entry point that does). For
each event:

1. `seal`: sign the ``ario.mlflow/v1`` envelope and, if a wallet is configured, wrap
   ``JCS(envelope)`` in a signed ANS-104 data item (default tags, see `dataitem`);
2. `upload`: upload the item (unless offline) and report an `AnchorResult` whose
   ``status`` is ``anchored`` (tx id + receipt) or ``signed`` (with the precise
   ``error_kind``); `record_pending` writes a ``signed`` result to the outbox together
   with the MLflow updates to replay, so `retry` can upload the identical item later.

MLflow is never imported here: the integration layer passes an `apply` callback that
performs the recorded actions.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from nacl.signing import SigningKey

from . import config
from .dataitem import build_event_item
from .envelopes import mlflow_envelope, public_key_hex
from .keys import ResolvedKey, resolve_signing_key
from .outbox import Outbox, PendingRecord
from .payloads import Payload
from .wallets import ResolvedWallet, resolve_wallet

ANCHORED = "anchored"
SIGNED = "signed"

Apply = Callable[[list[dict[str, Any]], "AnchorResult"], None]


@dataclass
class AnchorResult:
    """The outcome for one event. `tx_id` is set only once the upload succeeded."""

    event_type: str
    event_id: str
    status: str
    envelope: dict[str, Any]
    envelope_bytes: bytes
    payload: Payload | None
    previous_hash: str
    data_item: bytes | None = None
    item_id: str | None = None
    tx_id: str | None = None
    url: str | None = None
    receipt: dict[str, Any] | None = None
    error: str = ""
    error_kind: str = ""
    attempts: int = 0
    pending_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def anchored(self) -> bool:
        return self.status == ANCHORED

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "event_type": self.event_type, "event_id": self.event_id, "status": self.status,
            "payload_hash": self.envelope.get("payload_hash"), "previous_hash": self.previous_hash,
            "item_id": self.item_id, "tx_id": self.tx_id, "url": self.url,
        }
        if not self.anchored:
            out.update(error=self.error, error_kind=self.error_kind,
                       pending=str(self.pending_path) if self.pending_path else None)
        out.update(self.extra)
        return out


@dataclass
class Anchorer:
    """How events are signed and where they are uploaded.

    `upload_url=None` means offline: envelopes (and data items, when a wallet is given)
    are signed and recorded as pending, nothing is sent. `now` fixes ``signed_at``.
    """

    signing_key: SigningKey
    wallet: ResolvedWallet | None = None
    upload_url: str | None = config.DEFAULT_UPLOAD_URL
    gateway_url: str = f"https://{config.DEFAULT_GATEWAY_HOST}"
    outbox: Outbox | None = None
    timeout: float = 30.0
    retries: int = 2
    backoff: float = 0.5
    max_retry_after: float = 30.0
    now: Callable[[], datetime] | None = None
    extra_tags: tuple[tuple[str, str], ...] = ()
    key_info: ResolvedKey | None = None
    _http: Any = field(default=None, init=False, repr=False, compare=False)
    _http_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False,
                                       compare=False)

    @property
    def public_key(self) -> str:
        return public_key_hex(self.signing_key)

    @property
    def offline(self) -> bool:
        return self.upload_url is None or self.wallet is None

    @property
    def wallet_mode(self) -> str | None:
        return self.wallet.mode if self.wallet else None

    @property
    def wallet_type(self) -> str | None:
        return self.wallet.wallet_type if self.wallet else None

    @classmethod
    def from_environment(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        key_path: str | os.PathLike[str] | None = None,
        wallet_path: str | os.PathLike[str] | None = None,
        upload_url: str | None = None,
        gateway_url: str | None = None,
        offline: bool = False,
        **options: Any,
    ) -> "Anchorer":
        """The CLI/integration entry point: resolves key, wallet and outbox.

        Creates the signing key and the wallet in the home directory on first use (an
        explicit anchoring act, never an import or a verification). Offline runs create
        no wallet. Display URLs use `gateway_url`, else `upload_url` (the local gateway
        serves both), else https://turbo-gateway.com.
        """
        env = config.current_environ() if environ is None else environ
        key: ResolvedKey = resolve_signing_key(key_path, environ=env, create=True)
        wallet = None
        if not offline or wallet_path is not None:
            wallet = resolve_wallet(wallet_path, environ=env, create=not offline)
        home = config.verifier_home(env)
        anchorer = cls(
            signing_key=key.key, wallet=wallet,
            upload_url=None if offline else (upload_url or config.DEFAULT_UPLOAD_URL),
            gateway_url=gateway_url or upload_url or f"https://{config.DEFAULT_GATEWAY_HOST}",
            outbox=Outbox(config.outbox_dir(home)), key_info=key, **options,
        )
        return anchorer

    # -- sealing ---------------------------------------------------------------------

    def seal(self, *, event_type: str, subject: Mapping[str, Any], payload: Payload,
             previous_hash: str) -> AnchorResult:
        """Sign the envelope and (with a wallet) the data item; nothing is sent."""
        moment = self.now() if self.now else datetime.now(timezone.utc)
        env, data = mlflow_envelope(event_type=event_type, subject=subject,
                                    payload_bytes=payload.data, previous_hash=previous_hash,
                                    signing_key=self.signing_key, now=moment)
        item = item_id = None
        if self.wallet is not None:
            item = build_event_item(data, self.wallet.signer, event_type=event_type,
                                    event_id=env["event_id"], chain_prev=previous_hash,
                                    extra_tags=self.extra_tags)
            item_id = _item_id(item)
        return AnchorResult(event_type, env["event_id"], SIGNED, env, data, payload,
                            previous_hash, data_item=item, item_id=item_id)

    # -- publishing ------------------------------------------------------------------

    def upload(self, result: AnchorResult) -> AnchorResult:
        """Upload `result.data_item`; updates `result` in place and returns it."""
        if self.upload_url is None:
            result.error, result.error_kind = "offline: upload not attempted", "offline"
            return result
        if result.data_item is None or self.wallet is None:
            result.error, result.error_kind = "no upload wallet configured", "no_wallet"
            return result
        from .upload import upload_data_item  # httpx is imported only here

        outcome = upload_data_item(
            result.data_item, upload_url=self.upload_url, token=self.wallet.token,
            timeout=self.timeout, retries=self.retries, backoff=self.backoff,
            max_retry_after=self.max_retry_after, client=self._client(),
        )
        result.attempts += outcome.attempts
        if outcome.ok:
            result.status = ANCHORED
            result.tx_id = outcome.tx_id
            result.receipt = outcome.receipt
            result.url = self.tx_url(outcome.tx_id or "")
            result.error = result.error_kind = ""
        else:
            result.error = outcome.message
            result.error_kind = outcome.error_kind.value
        return result

    def _client(self) -> Any:
        """One pooled httpx client per anchorer (building one loads the CA store: ~50 ms)."""
        with self._http_lock:
            if self._http is None:
                import httpx

                self._http = httpx.Client(timeout=self.timeout)
            return self._http

    def close(self) -> None:
        """Close the pooled HTTP connection (the anchorer stays usable)."""
        with self._http_lock:
            http, self._http = self._http, None
        if http is not None:
            http.close()

    def tx_url(self, tx_id: str) -> str:
        return f"{self.gateway_url.rstrip('/')}/{tx_id}"

    def record_pending(self, result: AnchorResult, *, tracking_uri: str | None,
                       actions: list[dict[str, Any]]) -> None:
        if self.outbox is None:
            return
        record = PendingRecord(
            event_id=result.event_id, event_type=result.event_type, envelope=result.envelope,
            data_item=result.data_item, item_id=result.item_id, tracking_uri=tracking_uri,
            actions=actions, attempts=result.attempts, last_error=result.error,
            last_error_kind=result.error_kind,
            created_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        result.pending_path = self.outbox.save(record)

    def retry(self, record: PendingRecord, *, apply: Apply | None = None) -> AnchorResult:
        """Upload one pending record (building its data item now if it had none)."""
        from .envelopes import canonical

        env = record.envelope
        result = AnchorResult(record.event_type, record.event_id, SIGNED, env, canonical(env),
                              None, str(env.get("previous_hash", "")), data_item=record.data_item,
                              item_id=record.item_id, attempts=record.attempts)
        if result.data_item is None and self.wallet is not None:
            result.data_item = build_event_item(
                result.envelope_bytes, self.wallet.signer, event_type=record.event_type,
                event_id=record.event_id, chain_prev=result.previous_hash,
                extra_tags=self.extra_tags)
            result.item_id = _item_id(result.data_item)
        self.upload(result)
        if result.anchored:
            if apply is not None and record.actions:
                apply(record.actions, result)
            if self.outbox is not None:
                result.pending_path = self.outbox.mark_done(record, result.tx_id or "", result.receipt,
                                                            result.extra.get("apply_errors"))
        elif self.outbox is not None:
            record.data_item, record.item_id = result.data_item, result.item_id
            record.attempts = result.attempts
            record.last_error, record.last_error_kind = result.error, result.error_kind
            result.pending_path = self.outbox.save(record)
        return result

    def retry_pending(self, *, apply: Apply | None = None,
                      event_ids: set[str] | None = None) -> list[AnchorResult]:
        """Retry every pending record (or those in `event_ids`), oldest first."""
        if self.outbox is None:
            return []
        out = []
        for record in list(self.outbox.pending()):
            if event_ids is not None and record.event_id not in event_ids:
                continue
            out.append(self.retry(record, apply=apply))
        return out


def _item_id(raw: bytes) -> str:
    from verifier.core.ans104 import data_item_id

    return data_item_id(raw)
