"""A small client for the parts of BoaviztAPI (2.x) greenhack uses, on an injectable ``httpx.Client``.

Every failure to get a usable answer (no connection, timeout, an HTTP error status, a body that is not the JSON
BoaviztAPI sends) becomes :class:`~greenhack.errors.BoaviztaUnavailable`, which the evaluation retries later.
Answers are parsed into typed values here; no raw BoaviztAPI JSON leaves this module except the verbose
attribute values of components (``ServerAnswer.components``), which factor derivation copies back into a request.
"""

from __future__ import annotations

import math
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import BaseModel, ConfigDict

from greenhack.errors import BoaviztaUnavailable, ImpactsError
from greenhack.impacts.models import BOAVIZTA_CRITERIA, BoaviztaCriterion, Bound

__all__ = ["BOAVIZTA_CRITERION_NAMES", "BoaviztaClient", "PhaseImpacts", "ServerAnswer"]

# greenhack's criterion names -> BoaviztAPI's (BoaviztAPI's "adp" is computed from ADPe factors)
BOAVIZTA_CRITERION_NAMES: dict[BoaviztaCriterion, str] = {"gwp": "gwp", "adpe": "adp", "pe": "pe"}


class PhaseImpacts(BaseModel):
    """Impacts of one criterion as BoaviztAPI answered them (``embedded`` is BoaviztAPI's word for embodied)."""

    model_config = ConfigDict(frozen=True)

    embedded: Bound
    use: Bound


class ServerAnswer(BaseModel):
    """A parsed answer of ``POST /v1/server/``.

    ``usage_factors`` (per kWh) and ``components`` are filled only for ``verbose=true`` answers; verbose
    attribute values are not rounded by BoaviztAPI, unlike impact values (see ``greenhack.impacts.factors``).
    """

    model_config = ConfigDict(frozen=True)

    impacts: dict[BoaviztaCriterion, PhaseImpacts]
    usage_factors: dict[BoaviztaCriterion, Bound] = {}
    usage_factor_sources: dict[BoaviztaCriterion, str] = {}
    components: dict[str, dict[str, Any]] = {}


class BoaviztaClient:
    """BoaviztAPI over HTTP.

    Args:
        base_url: where BoaviztAPI answers, e.g. ``http://127.0.0.1:5000``.
        http: an ``httpx.Client`` to send requests with (tests inject one with a counting or mock transport);
            by default the client makes and owns one.
        timeout_s: timeout of each request, in seconds, for the client it makes.
    """

    def __init__(self, base_url: str, *, http: httpx.Client | None = None, timeout_s: float = 30.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout_s)
        self._timeout_s = timeout_s

    @property
    def base_url(self) -> str:
        return self._base_url

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- the edge ---------------------------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
        url = f"{self._base_url}{path}"
        try:
            response = self._http.request(method, url, params=params, json=json, timeout=self._timeout_s)
        except httpx.TimeoutException as exc:
            raise BoaviztaUnavailable(
                f"BoaviztAPI at {self._base_url} did not answer {method} {path} in time ({exc})", url=url
            ) from exc
        except httpx.HTTPError as exc:
            raise BoaviztaUnavailable(
                f"BoaviztAPI at {self._base_url} cannot be reached ({type(exc).__name__}: {exc})", url=url
            ) from exc
        if response.status_code >= 400:
            detail = response.text.strip().replace("\n", " ")
            raise BoaviztaUnavailable(
                f"BoaviztAPI at {self._base_url} answered {response.status_code} to {method} {path}: {detail[:300]}",
                url=url,
                status_code=response.status_code,
            )
        try:
            return response.json()
        except ValueError as exc:
            raise BoaviztaUnavailable(
                f"BoaviztAPI at {self._base_url} answered {method} {path} with something that is not JSON "
                f"({response.headers.get('content-type', 'no content type')})",
                url=url,
                status_code=response.status_code,
            ) from exc

    def _not_boavizta(self, path: str, what: str) -> BoaviztaUnavailable:
        return BoaviztaUnavailable(
            f"BoaviztAPI at {self._base_url} answered {path} with {what}; is this URL really BoaviztAPI?",
            url=f"{self._base_url}{path}",
        )

    # --- utils ------------------------------------------------------------------------------------------------

    def version(self) -> str:
        """BoaviztAPI's version, e.g. ``2.5.0`` (``GET /v1/utils/version``)."""
        data = self._request("GET", "/v1/utils/version")
        if not isinstance(data, str) or not data.strip():
            raise self._not_boavizta("/v1/utils/version", f"{data!r} instead of a version string")
        return data.strip()

    def country_codes(self) -> frozenset[str]:
        """The location codes BoaviztAPI has electricity factors for (``GET /v1/utils/country_code``)."""
        data = self._request("GET", "/v1/utils/country_code")
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise self._not_boavizta("/v1/utils/country_code", "something other than a name -> code mapping")
        return frozenset(data.values())

    def _names(self, path: str) -> list[str]:
        data = self._request("GET", path)
        if not isinstance(data, list):
            raise self._not_boavizta(path, "something other than a list of names")
        return [str(name) for name in data]

    def cpu_names(self) -> list[str]:
        """Every CPU name BoaviztAPI's CPU table holds (``GET /v1/utils/cpu_name``)."""
        return self._names("/v1/utils/cpu_name")

    def gpu_names(self) -> list[str]:
        """Every GPU name BoaviztAPI's GPU table holds (``GET /v1/utils/gpu_name``)."""
        return self._names("/v1/utils/gpu_name")

    def _match(self, path: str, param: str, name: str) -> str | None:
        data = self._request("GET", path, params={param: name})
        if isinstance(data, str):  # BoaviztAPI answers 200 with a sentence when nothing matches
            return None
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            matched: str = data["name"]
            return matched
        raise self._not_boavizta(path, "neither a component nor a 'not found' sentence")

    def cpu_match(self, name: str) -> str | None:
        """The CPU BoaviztAPI's fuzzy matcher picks for ``name``, or None (``GET /v1/utils/name_to_cpu``).

        The server route completes a CPU from its name with the same matcher, so this is what it will use.
        """
        return self._match("/v1/utils/name_to_cpu", "cpu_name", name)

    def gpu_match(self, name: str) -> str | None:
        """The GPU BoaviztAPI's fuzzy matcher picks for ``name``, or None (``GET /v1/utils/name_to_gpu``)."""
        return self._match("/v1/utils/name_to_gpu", "gpu_name", name)

    # --- server -----------------------------------------------------------------------------------------------

    def server(self, body: dict[str, Any], *, duration_h: float, verbose: bool) -> ServerAnswer:
        """Impacts of a server configuration over ``duration_h`` hours (``POST /v1/server/``).

        Args:
            body: the request body (``model``, ``configuration``, ``usage``) as BoaviztAPI documents it.
            duration_h: the duration the embedded impacts are allocated to and the use impacts cover, in hours.
            verbose: also return the completed attributes of each component and the usage factors.
        """
        path = "/v1/server/"
        params = [
            ("duration", repr(float(duration_h))),
            ("verbose", "true" if verbose else "false"),
            *(("criteria", name) for name in BOAVIZTA_CRITERION_NAMES.values()),
        ]
        data = self._request("POST", path, params=params, json=body)
        return self._parse_server(path, data, verbose=verbose)

    def _parse_server(self, path: str, data: Any, *, verbose: bool) -> ServerAnswer:
        if not isinstance(data, dict) or not isinstance(data.get("impacts"), dict):
            raise self._not_boavizta(path, "a body without 'impacts'")
        impacts: dict[BoaviztaCriterion, PhaseImpacts] = {}
        for criterion in BOAVIZTA_CRITERIA:
            name = BOAVIZTA_CRITERION_NAMES[criterion]
            block = data["impacts"].get(name)
            if not isinstance(block, dict):
                raise self._not_boavizta(path, f"no impacts for criterion {name!r}")
            impacts[criterion] = PhaseImpacts(
                embedded=self._bound(path, block.get("embedded"), f"{name}.embedded"),
                use=self._bound(path, block.get("use"), f"{name}.use"),
            )
        if not verbose:
            return ServerAnswer(impacts=impacts)
        details = data.get("verbose")
        if not isinstance(details, dict):
            raise self._not_boavizta(path, "no 'verbose' block although verbose=true was asked")
        factors: dict[BoaviztaCriterion, Bound] = {}
        sources: dict[BoaviztaCriterion, str] = {}
        for criterion in BOAVIZTA_CRITERIA:
            key = f"{BOAVIZTA_CRITERION_NAMES[criterion]}_factor"
            attribute = details.get(key)
            # an INPUT attribute carries no min/max; a COMPLETED or DEFAULT one does
            factors[criterion] = self._bound(path, attribute, f"verbose.{key}")
            sources[criterion] = str(attribute.get("source", "")) if isinstance(attribute, dict) else ""
        components = {
            key: {
                attr: value["value"]
                for attr, value in block.items()
                if isinstance(value, dict) and "value" in value and attr != "impacts"
            }
            for key, block in details.items()
            if isinstance(block, dict) and "impacts" in block
        }
        return ServerAnswer(
            impacts=impacts, usage_factors=factors, usage_factor_sources=sources, components=components
        )

    def _bound(self, path: str, block: Any, where: str) -> Bound:
        if isinstance(block, str):  # e.g. "not implemented"
            raise ImpactsError(f"BoaviztAPI at {self._base_url} could not compute {where}: {block}")
        if not isinstance(block, dict) or not _is_number(block.get("value")):
            raise self._not_boavizta(path, f"no numeric {where}.value")
        value = float(block["value"])
        low = float(block["min"]) if _is_number(block.get("min")) else value
        high = float(block["max"]) if _is_number(block.get("max")) else value
        if low > high:
            raise self._not_boavizta(path, f"{where}.min above {where}.max")
        # the value may lie outside [min, max]: BoaviztAPI rounds it more coarsely than the bounds
        return Bound(value=value, min=low, max=high)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
