"""Independent oracles for the library's tests and benchmarks: tables and exact references.

Typed once, used by ``tests/symbolic``, ``tests/emit`` and ``benchmarks/accuracy_mpmath.py``:

- :mod:`.fgan_table`: the f-GAN paper's Table 2 as printed (Nowozin, Cseke, Tomioka 2016), its
  errata, and :func:`library_row`, its conversion to the library's conventions;
- :mod:`.closed_forms`: one :class:`ClosedForms` per registered divergence (and family parameter)
  with the literature closed forms of f, f*, g_f, f* o g_f, T* and the limits f(0+), f'(0+),
  lim f(u)/u, as SymPy expressions and as stable mpmath callables (:class:`MpForms`);
- :mod:`.mpmath_reference`: mpmath evaluation at escalating precision (:func:`escalate`,
  :func:`exact_value`), guarded exponentials, ulps in any float format, condition numbers and
  the mixed forward-backward error.

Independence: these modules import SymPy, mpmath (and nothing heavier) and, from the library,
only :mod:`divergences.symbolic.symbols` (the canonical symbols); never the emitter
(``divergences.numeric.emit``), the emitted torch functions or ``divergences.numeric.analytic``
(``tests/testing/test_oracles.py`` checks this on the source). Note that importing
``divergences.testing.oracles`` first runs ``divergences/__init__.py`` and
``divergences/testing/__init__.py``, which needs ``hypothesis`` (a test dependency, installed with
the ``test`` extra): the oracles themselves do not use it.
"""

from divergences.symbolic.symbols import r as r
from divergences.symbolic.symbols import s as s
from divergences.symbolic.symbols import t as t
from divergences.symbolic.symbols import u as u
from divergences.symbolic.symbols import v as v

from .closed_forms import ALL_FORMS as ALL_FORMS
from .closed_forms import CLOSED_FORMS as CLOSED_FORMS
from .closed_forms import FAMILY_PARAMETERS as FAMILY_PARAMETERS
from .closed_forms import LE_CAM as LE_CAM
from .closed_forms import PAPER_JS as PAPER_JS
from .closed_forms import QUANTITIES as QUANTITIES
from .closed_forms import REGISTERED_FORMS as REGISTERED_FORMS
from .closed_forms import ClosedForms as ClosedForms
from .closed_forms import MpForms as MpForms
from .closed_forms import alpha_forms as alpha_forms
from .closed_forms import closed_forms as closed_forms
from .closed_forms import js_weighted_forms as js_weighted_forms
from .fgan_table import AGREEING_CONJUGATES as AGREEING_CONJUGATES
from .fgan_table import AGREEING_DOMAINS as AGREEING_DOMAINS
from .fgan_table import ERRATA as ERRATA
from .fgan_table import TABLE_2 as TABLE_2
from .fgan_table import FganRow as FganRow
from .fgan_table import LibraryRow as LibraryRow
from .fgan_table import library_row as library_row
from .mpmath_reference import DEEP_ESCALATION as DEEP_ESCALATION
from .mpmath_reference import FLOAT64_ESCALATION as FLOAT64_ESCALATION
from .mpmath_reference import FORMATS as FORMATS
from .mpmath_reference import Escalation as Escalation
from .mpmath_reference import FloatFormat as FloatFormat
from .mpmath_reference import condition_number as condition_number
from .mpmath_reference import escalate as escalate
from .mpmath_reference import exact_value as exact_value
from .mpmath_reference import guarded_exp as guarded_exp
from .mpmath_reference import guarded_expm1 as guarded_expm1
from .mpmath_reference import log1mexp as log1mexp
from .mpmath_reference import mixed_error as mixed_error
from .mpmath_reference import mp_lambdify as mp_lambdify
from .mpmath_reference import representable as representable
from .mpmath_reference import round_to as round_to
from .mpmath_reference import slope as slope
from .mpmath_reference import softplus as softplus
from .mpmath_reference import ulp as ulp
from .mpmath_reference import ulps as ulps
from .mpmath_reference import xlogx as xlogx
