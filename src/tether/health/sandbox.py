"""The Lua 5.1 sandbox that custom health checks run in.

Scripts come from settings and directories an operator controls, but they are code run
inside the controller, so each one runs:

- in a fresh global environment holding only safe functions. *Closed* (the default,
  as in Argo CD): the base functions that cannot reach outside the script (``pairs``,
  ``ipairs``, ``type``, ``tostring``, ``pcall``, ``error``, ``setmetatable``, ...), the
  ``table`` library and a safe ``os`` (``time``, ``clock``, ``date``, ``difftime``).
  *Open* (``useOpenLibs``): also ``string`` and ``math``. Never, in either mode: ``io``,
  the rest of ``os`` (``execute``, ``remove``, ``getenv``, ...), ``require``,
  ``package``, ``load``/``loadstring``/``loadfile``/``dofile``, ``debug``,
  ``string.dump``, ``coroutine`` (a coroutine would escape the instruction counter),
  ``collectgarbage``; ``print`` exists but discards its arguments. Strings keep their
  methods (``s:sub(1, 3)``) in both modes;
- with an instruction budget and a CPU-time budget (a count hook that stops the
  script once either is spent; Argo CD allows one second) and a memory budget (lupa's
  allocator limit); each ends the script with an error;
- from a function compiled once per script text and kept in a bounded cache;
- on a copy of the object made only of JSON values (mappings become tables, lists
  become 1-based arrays, ``null`` becomes ``nil``, anything else its text), so that no
  Python object is ever reachable from Lua; attribute access on Python objects is
  refused as a second guard.

Known limit: the count hook does not run inside a single C call. One ``find``,
``match`` or ``gsub`` with a pathological pattern over a long string (string methods
exist in both modes) runs to its end before the budgets can stop the script; its
input is bounded by the size of the object and of the strings the script may build.

Lua runtimes are not thread-safe; one lock serialises the runs of a sandbox.
"""

from __future__ import annotations

import datetime
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import lupa.lua51 as lua

#: Instructions one run may execute (about 20 ms of a tight loop on one core).
DEFAULT_MAX_INSTRUCTIONS = 10_000_000
#: CPU seconds one run may take, Argo CD's timeout for a health script.
DEFAULT_MAX_SECONDS = 1.0
#: Bytes one run may allocate on top of what the runtime already holds.
DEFAULT_MAX_MEMORY = 32 * 1024 * 1024
#: Compiled scripts kept per sandbox.
DEFAULT_CACHE_SIZE = 512

_HOOK_STEP = 1000
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# A limit far above any budget: lupa only enforces limits on runtimes created with one,
# and cleanup after a run that hit the budget must be free to allocate.
_UNLIMITED = 1 << 50

_PRELUDE = r"""
local sethook, setfenv, loadstring = debug.sethook, setfenv, loadstring
local pairs, error, type, tostring = pairs, error, type, tostring
local string_lib, table_lib, math_lib, os_lib = string, table, math, os

local function copy(lib, without)
  local out = {}
  for name, value in pairs(lib) do
    if not (without and without[name]) then out[name] = value end
  end
  return out
end

-- Strings share one metatable whose __index is the string library. Point it at a copy
-- without dump, and hide the metatable so no script can reach or change it.
local string_methods = copy(string_lib, {dump = true})
local string_meta = getmetatable("")
string_meta.__index = string_methods
string_meta.__metatable = false

local base = {}
for _, name in pairs({"assert", "error", "getmetatable", "ipairs", "next", "pairs",
    "pcall", "rawequal", "rawget", "rawset", "select", "setmetatable", "tonumber",
    "tostring", "type", "unpack", "xpcall"}) do
  base[name] = _G[name]
end
base._VERSION = _VERSION
base.print = function() end

-- os.date hands its format to strftime; allow only the conversions every libc knows.
local os_date = os_lib.date
local function safe_date(format, time)
  if format ~= nil then
    if type(format) ~= "string" then error("bad argument #1 to 'date' (string expected)", 2) end
    local probe = format:gsub("^!", ""):gsub("%%[aAbBcdHIjmMpSwxXyYZ%%]", "")
    if probe:find("%", 1, true) then error("bad argument #1 to 'date' (invalid conversion)", 2) end
  end
  return os_date(format, time)
end
local safe_os = {time = os_lib.time, clock = os_lib.clock, difftime = os_lib.difftime,
                 date = safe_date}

local function environment(obj, open)
  local env = copy(base)
  env.table = copy(table_lib)
  env.os = copy(safe_os)
  if open then
    env.string = copy(string_methods)
    env.math = copy(math_lib)
  end
  env._G = env
  env.obj = obj
  return env
end

local clock = os_lib.clock

local compile = function(text)
  -- Binary chunks could break out of any sandbox: accept source text only.
  if text:byte(1) == 27 then return nil, "binary chunks are not accepted" end
  -- Errors then read "health.lua:3: attempt to ...", whatever the script's source.
  return loadstring(text, "=health.lua")
end

local run = function(fn, obj, open, limit, seconds)
  setfenv(fn, environment(obj, open))
  local spent, deadline = 0, clock() + seconds
  sethook(function()
    spent = spent + STEP
    local reason = nil
    if spent > limit then
      reason = "instruction limit exceeded"
    elseif clock() > deadline then
      reason = "time limit exceeded"
    end
    if reason ~= nil then
      -- From now on fail at every instruction, so that no pcall in the script can
      -- swallow the error and carry on.
      sethook(function() error(reason, 0) end, "", 1)
      error(reason, 0)
    end
  end, "", STEP)
  local result = fn()
  -- Read the result here, under the budget and without metamethods (as Argo CD's JSON
  -- encoding does): a metatable on the returned table must not run code unbounded.
  if type(result) ~= "table" then return type(result) end
  return "table", rawget(result, "status"), rawget(result, "message")
end

return compile, run
"""


class ScriptError(Exception):
    """A script failed to compile or to run; the message is Lua's (or the limit hit)."""


@dataclass(frozen=True, slots=True)
class ScriptResult:
    """What a script returned.

    ``lua_type`` is the Lua type of the result; for a table, ``status`` and ``message``
    are its raw fields as Python values (``None`` for ``nil``).
    """

    lua_type: str
    status: Any = None
    message: Any = None


@dataclass(frozen=True, slots=True)
class Limits:
    """What one script run may use."""

    max_instructions: int = DEFAULT_MAX_INSTRUCTIONS
    max_seconds: float = DEFAULT_MAX_SECONDS
    max_memory: int = DEFAULT_MAX_MEMORY


class LuaSandbox:
    """A Lua 5.1 runtime that compiles scripts once and runs them confined."""

    def __init__(self, limits: Limits | None = None, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self.limits = limits or Limits()
        self._runtime = lua.LuaRuntime(
            max_memory=_UNLIMITED,
            unpack_returned_tuples=True,
            register_eval=False,
            register_builtins=False,
            attribute_filter=_refuse_attributes,
        )
        prelude = _PRELUDE.replace("STEP", str(_HOOK_STEP))
        self._compile, self._run = self._runtime.execute(prelude)
        self._pcall = self._runtime.globals().pcall
        self._sethook = self._runtime.globals().debug.sethook
        self._collect = self._runtime.globals().collectgarbage
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def compile(self, text: str) -> Any:
        """The compiled function for ``text``, from the cache when it was compiled before.

        Raises :class:`ScriptError` with Lua's message (``health.lua:3: ...``) for a
        syntax error.
        """
        with self._lock:
            return self._compiled(text)

    def _compiled(self, text: str) -> Any:
        cached = self._cache.get(text)
        if cached is not None:
            self._cache.move_to_end(text)
            return cached
        compiled = self._compile(text)
        # loadstring returns the function alone, or nil and the syntax error.
        function, error = compiled if isinstance(compiled, tuple) else (compiled, None)
        if function is None:
            raise ScriptError(str(error))
        self._cache[text] = function
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return function

    @property
    def cached_scripts(self) -> int:
        """How many compiled scripts the cache holds."""
        return len(self._cache)

    def run(self, text: str, obj: Mapping[str, Any], *, open_libs: bool) -> ScriptResult:
        """Run a script with ``obj`` as its global ``obj``; describe what it returned.

        Raises :class:`ScriptError` for a compile error, a runtime error or an exhausted
        budget.
        """
        with self._lock:
            function = self._compiled(text)
            runtime = self._runtime
            # Converted before the budget applies: the object is the input, not the script's.
            table = runtime.table_from(_plain(obj), recursive=True)
            runtime.set_max_memory(runtime.get_memory_used() + self.limits.max_memory)
            try:
                outcome = self._pcall(
                    self._run,
                    function,
                    table,
                    open_libs,
                    self.limits.max_instructions,
                    self.limits.max_seconds,
                )
            except lua.LuaMemoryError as error:
                outcome = (False, error)
            finally:
                # Lift the budget before touching the runtime again: a script that
                # exhausted it leaves garbage that only a collection frees.
                runtime.set_max_memory(_UNLIMITED)
                self._sethook()
            ok, *values = outcome if isinstance(outcome, tuple) else (outcome,)
            if not ok:
                self._collect()
                raise ScriptError(_describe(values[0] if values else None))
            # Trailing nils do not come back from Lua: pad them.
            kind, status, message = (*values, None, None, None)[:3]
            return ScriptResult(str(kind), status, message)


def _refuse_attributes(obj: object, name: object, is_setting: bool) -> object:
    raise AttributeError("Python attributes are not reachable from health checks")


def _plain(value: Any) -> Any:
    """``value`` made of JSON types only: what Kubernetes objects are on the wire."""
    # Exact type tests first: decoded JSON is plain dicts, lists and scalars, and this
    # runs on every field of every object a Lua check judges.
    kind = type(value)
    if kind is str or kind is float or kind is bool or value is None:
        return value
    if kind is dict:
        return {key if type(key) is str else str(key): _plain(item) for key, item in value.items()}
    if kind is list:
        return [_plain(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        # Lua 5.1 numbers are doubles; lupa only hands over integers that fit 64 bits.
        return int(value) if _INT64_MIN <= value <= _INT64_MAX else float(value)
    if isinstance(value, bool | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime.datetime):
        # YAML timestamps, as the API server writes them (RFC 3339, UTC).
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return value.isoformat() + "Z"
    return str(value)


def _describe(error: Any) -> str:
    if isinstance(error, lua.LuaMemoryError) or error == "not enough memory":
        return "memory limit exceeded"
    if isinstance(error, str):
        return error
    return f"script raised a non-string error ({lua.lua_type(error) or type(error).__name__})"
