"""Address allocation and naming for sandbox hosts (pure)."""

import pytest

from sandbox.addressing import (
    AddressError,
    allocate,
    check_host_name,
    hosts_file,
    netns_name,
    veth_name,
)


def test_fresh_hosts_get_consecutive_addresses_from_11() -> None:
    got = allocate(["master1", "master2", "agent1"], {})
    assert got == {
        "master1": "198.51.100.11",
        "master2": "198.51.100.12",
        "agent1": "198.51.100.13",
    }


def test_recorded_hosts_keep_their_address_and_new_ones_fill_gaps() -> None:
    existing = {"master1": "198.51.100.11", "agent1": "198.51.100.13"}
    got = allocate(["master1", "agent1", "agent2", "agent3"], existing)
    assert got["master1"] == "198.51.100.11"
    assert got["agent1"] == "198.51.100.13"
    # .12 is free again (its host was removed from the state), then past the highest
    assert got["agent2"] == "198.51.100.12"
    assert got["agent3"] == "198.51.100.14"


def test_hosts_only_in_state_keep_their_address_reserved() -> None:
    got = allocate(["new"], {"gone": "198.51.100.11"})
    assert got == {"new": "198.51.100.12"}


def test_subnet_exhaustion_is_an_error() -> None:
    names = [f"h{i}" for i in range(245)]
    with pytest.raises(AddressError, match="no free address"):
        allocate(names, {})


@pytest.mark.parametrize("bad", ["", "Master1", "-a", "a-", "a_b", "a" * 33, "a.b"])
def test_bad_host_names_are_refused(bad: str) -> None:
    with pytest.raises(AddressError):
        check_host_name(bad)


def test_names_fit_kernel_limits() -> None:
    assert netns_name("agent1") == "pms-agent1"
    veth = veth_name("198.51.100.254")
    assert veth == "pmsv254" and len(veth) <= 15


def test_address_outside_subnet_is_refused() -> None:
    with pytest.raises(AddressError):
        veth_name("10.0.0.1")


def test_hosts_file_lists_every_host_in_address_order_never_127_0_1_1() -> None:
    text = hosts_file({"b": "198.51.100.12", "a": "198.51.100.11"})
    assert "127.0.1.1" not in text
    lines = text.splitlines()
    assert lines.index("198.51.100.11\ta") < lines.index("198.51.100.12\tb")
    assert lines[0] == "127.0.0.1\tlocalhost"
