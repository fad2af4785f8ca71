"""The package's own settings are setting files (modelavg_sym/settings/*.toml) read like a
user's, and they are the settings the pages and theorems use: identical, expression for
expression, to the ones built in Python."""

from __future__ import annotations

import pytest
import sympy as sp

from modelavg_sym.derive import settings as S
from modelavg_sym.derive.catalog import pooled_settings
from modelavg_sym.derive.settingfile import PACKAGE_SETTINGS, package_setting

n, v, m = S.node_symbols(2)
BUILT = {
    "other_nodes": lambda: S.other_nodes(n, v, m),
    "pooled_with_local": lambda: S.pooled_with_local(n, v, m),
    "uniform_federation": lambda: S.uniform_federation(n, v, m),
    "known_global_random_bias": lambda: S.known_global_random_bias(n[0], v[0]),
}


def test_every_package_setting_file_is_checked_here() -> None:
    assert sorted(p.stem for p in PACKAGE_SETTINGS.glob("*.toml")) == sorted(BUILT)


@pytest.mark.parametrize("name", sorted(BUILT))
def test_package_setting_file_equals_the_python_setting(name: str) -> None:
    ref, got = BUILT[name](), package_setting(name)
    assert (got.name, got.title, got.target) == (ref.name, ref.title, ref.target)
    d_ref, d_got = ref.derivation(), got.derivation()
    assert list(d_got.results) == list(d_ref.results)
    for key in d_ref.results:
        assert sp.srepr(d_got[key]) == sp.srepr(d_ref[key]), key
    assert [(s.text, sp.srepr(s.lhs), sp.srepr(s.rhs)) for s in d_got.steps] == \
        [(s.text, sp.srepr(s.lhs), sp.srepr(s.rhs)) for s in d_ref.steps]


def test_the_settings_page_uses_the_files() -> None:
    excl, incl = pooled_settings()
    assert excl is package_setting("other_nodes")
    assert incl is package_setting("pooled_with_local")


def test_unknown_package_setting_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="other_nodes"):
        package_setting("nonexistent")
