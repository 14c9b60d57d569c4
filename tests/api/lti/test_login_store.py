"""LTI login states and nonces on both engines, as two replicas see them: each is one
store over the same database."""

from __future__ import annotations

import threading

import pytest

from api.lti.logins import LoginError, LoginStore


def test_a_login_started_on_one_replica_is_found_and_used_on_another(database):
    a, b = LoginStore(database), LoginStore(database)
    login = a.start("https://canvas.example", "client-1")
    assert b.find_state(login.state) == login
    assert b.use_state(login.state) == login
    assert a.use_nonce(login.nonce) == login
    with pytest.raises(LoginError, match="state already used"):
        a.use_state(login.state)
    with pytest.raises(LoginError, match="nonce already used"):
        b.use_nonce(login.nonce)


def test_of_many_replicas_racing_with_one_nonce_exactly_one_wins(database):
    login = LoginStore(database).start("https://canvas.example", "client-1")
    stores = [LoginStore(database) for _ in range(8)]
    results: list[str] = []

    def replay(store: LoginStore) -> None:
        try:
            store.use_nonce(login.nonce)
            results.append("won")
        except LoginError as exc:
            results.append(str(exc))

    threads = [threading.Thread(target=replay, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["nonce already used"] * 7 + ["won"]


def test_an_expired_state_says_so_and_an_unknown_one_too(database):
    store = LoginStore(database, ttl_s=-1)  # expired as soon as it is made
    login = store.start("https://canvas.example", "client-1")
    with pytest.raises(LoginError, match="state expired"):
        store.find_state(login.state)
    with pytest.raises(LoginError, match="unknown state"):
        store.find_state("forged")
