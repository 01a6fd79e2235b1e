#!/usr/bin/env python3
"""gen_proto.py — turns kafka.schema into proto_gen.c / proto_gen.h.

Design note
  - Input is the compact schema format documented at the top of kafka.schema.
    The parser is line based: each API starts with an `api` line, then a
    `request` and a `response` section whose field lines nest by indentation.
  - Output:
      proto_gen.h  one C struct per message and per nested struct (children
                   first, so embedded structs are complete where used), the
                   BROOK_API_* key enum, an extern descriptor per struct
                   (brook_<msg>[_<struct>]_desc: handlers brook_proto_init()
                   array elements with them) and, behind BROOK_PROTO_PRIVATE,
                   the descriptor types that only codec.c, proto_gen.c and
                   white-box tests may see.
      proto_gen.c  plain const tables: one brook_proto_field_t per field (kind,
                   version ranges, tag, default, offsetof), one brook_msg_desc_t
                   per struct, and the API table behind brook_proto_api().
  - Everything that can be decided here is decided here (snake names, tag
    order, minimum wire size per version, whether a struct has non-zero
    defaults), so the codec does no string work and no searching at runtime.
  - Errors in the schema stop the build with "kafka.schema:LINE: message".
  - Python 3 standard library only; output is deterministic (same input, same
    bytes) so rebuilds are reproducible.
"""

import re
import sys

VMAX = 0x7FFF  # "N+" means up to the largest int16 version

# Primitive types: C type, kind enum suffix, fixed wire size (None: length-
# prefixed; see NULLABLE_PRIMS for which may be null).
PRIMS = {
    "bool": ("bool", "BOOL", 1),
    "int8": ("int8_t", "INT8", 1),
    "int16": ("int16_t", "INT16", 2),
    "int32": ("int32_t", "INT32", 4),
    "int64": ("int64_t", "INT64", 8),
    "uint16": ("uint16_t", "UINT16", 2),
    "float64": ("double", "FLOAT64", 8),
    "uuid": ("brook_uuid_t", "UUID", 16),
    "string": ("brook_str_t", "STRING", None),
    "bytes": ("brook_bytes_t", "BYTES", None),
    "records": ("brook_records_t", "RECORDS", None),
}
NULLABLE_PRIMS = {"string", "bytes", "records"}
INT_RANGES = {
    "int8": (-(1 << 7), (1 << 7) - 1),
    "int16": (-(1 << 15), (1 << 15) - 1),
    "int32": (-(1 << 31), (1 << 31) - 1),
    "int64": (-(1 << 63), (1 << 63) - 1),
    "uint16": (0, (1 << 16) - 1),
}
C_KEYWORDS = set(
    "auto break case char const continue default do double else enum extern float for goto if "
    "inline int long register restrict return short signed sizeof static struct switch typedef "
    "union unsigned void volatile while bool true false".split())


class SchemaError(Exception):
    pass


def snake(name):
    """CamelCase -> snake_case (TopicData -> topic_data, ApiKeys -> api_keys)."""
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


def parse_range(text, line):
    """'3+', '0-12', '5', 'none' -> (min, max); empty ranges are (1, 0)."""
    if text == "none":
        return (1, 0)
    m = re.fullmatch(r"(\d+)\+", text)
    if m:
        return (int(m.group(1)), VMAX)
    m = re.fullmatch(r"(\d+)-(\d+)", text)
    if m:
        lo, hi = int(m.group(1)), int(m.group(2))
        if lo > hi:
            raise SchemaError(f"{line}: empty version range '{text}'")
        return (lo, hi)
    m = re.fullmatch(r"\d+", text)
    if m:
        return (int(text), int(text))
    raise SchemaError(f"{line}: bad version range '{text}' (want N, N+, N-M or none)")


def rng_empty(r):
    return r[0] > r[1]


def rng_within(inner, outer):
    return rng_empty(inner) or (outer[0] <= inner[0] and inner[1] <= outer[1])


class Field:
    def __init__(self, line):
        self.line = line
        self.name = None
        self.cname = None
        self.type = None  # prim name, or struct name
        self.is_array = False
        self.is_struct = False
        self.struct = None  # Struct for struct / struct-array fields
        self.versions = None
        self.nullable = (1, 0)
        self.tagged = (1, 0)
        self.tag = None
        self.default = None  # raw text
        self.indent = 0


class Struct:
    def __init__(self, name, cname, line):
        self.name = name
        self.cname = cname  # C type name without _t
        self.line = line
        self.fields = []


class Message:
    def __init__(self, api, kind, line):
        self.api = api
        self.kind = kind  # "request" / "response"
        self.name = api.name + ("Request" if kind == "request" else "Response")
        self.cname = "brook_" + snake(self.name)
        self.line = line
        self.root = Struct(self.name, self.cname, line)
        self.structs = {}  # name -> Struct, for uniqueness and reuse
        self.order = []  # structs, children before parents (root last)


class Api:
    def __init__(self, key, name, versions, flexible, line):
        self.key = key
        self.name = name
        self.versions = versions
        self.flexible = flexible
        self.line = line
        self.request = None
        self.response = None

    @property
    def first_flexible(self):
        return -1 if rng_empty(self.flexible) else self.flexible[0]


def parse(path):
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    apis = []
    api = None
    msg = None
    stack = []  # (indent, Field) of open struct fields in the current message

    def where(n):
        return f"{path}:{n}"

    for n, raw in enumerate(lines, 1):
        text = raw.split("#", 1)[0].rstrip()
        if not text.strip():
            continue
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise SchemaError(f"{where(n)}: tabs are not allowed in indentation")
        indent = len(text) - len(text.lstrip())
        toks = text.split()
        if indent == 0:
            if msg is not None:
                finish_message(msg, stack, where)
                msg = None
            stack = []
            if toks[0] == "api":
                if api is not None:
                    finish_api(api, where)
                if len(toks) < 3:
                    raise SchemaError(f"{where(n)}: want 'api KEY Name versions=R flexible=R'")
                try:
                    key = int(toks[1])
                except ValueError:
                    raise SchemaError(f"{where(n)}: api key '{toks[1]}' is not a number")
                opts = parse_opts(toks[3:], where(n), {"versions", "flexible"})
                if "versions" not in opts or "flexible" not in opts:
                    raise SchemaError(f"{where(n)}: api needs versions= and flexible=")
                if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", toks[2]):
                    raise SchemaError(f"{where(n)}: api name '{toks[2]}' must be CamelCase")
                api = Api(key, toks[2], parse_range(opts["versions"], where(n)),
                          parse_range(opts["flexible"], where(n)), n)
                if rng_empty(api.versions):
                    raise SchemaError(f"{where(n)}: api has no versions")
                apis.append(api)
            elif toks[0] in ("request", "response"):
                if api is None:
                    raise SchemaError(f"{where(n)}: '{toks[0]}' outside of an api")
                if len(toks) != 1:
                    raise SchemaError(f"{where(n)}: '{toks[0]}' takes no arguments")
                if getattr(api, toks[0]) is not None:
                    raise SchemaError(f"{where(n)}: second {toks[0]} for {api.name}")
                msg = Message(api, toks[0], n)
                setattr(api, toks[0], msg)
            else:
                raise SchemaError(f"{where(n)}: expected 'api', 'request' or 'response', got '{toks[0]}'")
            continue
        if msg is None:
            raise SchemaError(f"{where(n)}: field line outside of a request/response section")
        fld = parse_field(toks, indent, where(n), msg)
        # Close structs whose children ended.
        while stack and stack[-1][0] >= indent:
            close_struct(stack.pop()[1], msg, where)
        parent = stack[-1][1].struct if stack else msg.root
        if parent.fields and indent > parent.fields[-1].indent:
            prev = parent.fields[-1]
            raise SchemaError(f"{where(n)}: field {prev.name} (line {prev.line}, type {prev.type}) is not "
                              f"a struct and cannot have nested fields")
        if parent.fields and parent.fields[-1].indent != indent:
            raise SchemaError(f"{where(n)}: indentation does not match the sibling field on line "
                              f"{parent.fields[-1].line}")
        parent.fields.append(fld)
        if fld.is_struct:
            stack.append((indent, fld))
    if msg is not None:
        finish_message(msg, stack, where)
    if api is not None:
        finish_api(api, where)
    if not apis:
        raise SchemaError(f"{path}:1: no api in the schema")
    cnames = {}
    for a in apis:
        for m in (a.request, a.response):
            for st in m.order:
                if st.cname in cnames and cnames[st.cname] is not st:
                    raise SchemaError(f"{where(st.line)}: C name {st.cname} is also made by line "
                                      f"{cnames[st.cname].line}")
                cnames[st.cname] = st
    seen = {}
    for a in apis:
        if a.key in seen:
            raise SchemaError(f"{where(a.line)}: api key {a.key} already used on line {seen[a.key]}")
        seen[a.key] = a.line
    return apis


def parse_opts(toks, where, allowed):
    opts = {}
    for t in toks:
        if "=" not in t:
            raise SchemaError(f"{where}: expected key=value, got '{t}'")
        k, v = t.split("=", 1)
        if k not in allowed:
            raise SchemaError(f"{where}: unknown option '{k}' (allowed: {', '.join(sorted(allowed))})")
        if k in opts:
            raise SchemaError(f"{where}: option '{k}' given twice")
        opts[k] = v
    return opts


def parse_field(toks, indent, where, msg):
    if len(toks) < 3:
        raise SchemaError(f"{where}: want 'Name type versions [options]'")
    f = Field(int(where.rsplit(":", 1)[1]))
    f.indent = indent
    f.name, typ, vers = toks[0], toks[1], toks[2]
    if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", f.name):
        raise SchemaError(f"{where}: field name '{f.name}' must be CamelCase")
    f.cname = snake(f.name)
    if f.cname in C_KEYWORDS:
        raise SchemaError(f"{where}: field '{f.name}' becomes the C keyword '{f.cname}'")
    if typ.startswith("[]"):
        f.is_array = True
        typ = typ[2:]
    if typ in PRIMS:
        f.type = typ
    elif re.fullmatch(r"[A-Z][A-Za-z0-9]*", typ):
        f.type = typ
        f.is_struct = True
        f.struct = Struct(typ, None, f.line)  # children are appended as they are parsed
    else:
        raise SchemaError(f"{where}: unknown type '{toks[1]}'")
    f.versions = parse_range(vers, where)
    if rng_empty(f.versions):
        raise SchemaError(f"{where}: field has no versions")
    opts = parse_opts(toks[3:], where, {"nullable", "tag", "tagged", "default"})
    if "nullable" in opts:
        f.nullable = parse_range(opts["nullable"], where)
        if not (f.is_array or f.type in NULLABLE_PRIMS):
            raise SchemaError(f"{where}: only strings, bytes, records and arrays can be nullable")
        # Kafka's definitions often say nullable "0+" for a field that starts
        # later; only the overlap matters.
        f.nullable = (max(f.nullable[0], f.versions[0]), min(f.nullable[1], f.versions[1]))
    if "tag" in opts:
        if not opts["tag"].isdigit():
            raise SchemaError(f"{where}: tag must be a non-negative number")
        f.tag = int(opts["tag"])
        f.tagged = parse_range(opts.get("tagged", vers), where)
        if not rng_within(f.tagged, f.versions):
            raise SchemaError(f"{where}: tagged versions outside the field's versions")
        api = msg.api
        if not rng_empty(f.tagged) and (rng_empty(api.flexible) or f.tagged[0] < api.flexible[0]):
            raise SchemaError(f"{where}: tagged versions must be flexible versions")
    elif "tagged" in opts:
        raise SchemaError(f"{where}: tagged= needs tag=")
    if "default" in opts:
        f.default = opts["default"]
        check_default(f, where)
    return f


def check_default(f, where):
    d = f.default
    if f.is_array or f.is_struct:
        if not (f.is_array and d == "null"):
            raise SchemaError(f"{where}: only 'default=null' is allowed for arrays (structs: none)")
        if rng_empty(f.nullable):
            raise SchemaError(f"{where}: default=null on a field that is never nullable")
        return
    t = f.type
    if t == "bool":
        if d not in ("true", "false"):
            raise SchemaError(f"{where}: bool default must be true or false")
    elif t in INT_RANGES:
        try:
            v = int(d, 0)
        except ValueError:
            raise SchemaError(f"{where}: '{d}' is not an integer default")
        lo, hi = INT_RANGES[t]
        if not lo <= v <= hi:
            raise SchemaError(f"{where}: default {d} does not fit {t}")
    elif t == "float64":
        try:
            float(d)
        except ValueError:
            raise SchemaError(f"{where}: '{d}' is not a float default")
    elif t == "string":
        if d == "null":
            if rng_empty(f.nullable):
                raise SchemaError(f"{where}: default=null on a field that is never nullable")
        elif not (len(d) >= 2 and d[0] == '"' and d[-1] == '"' and '"' not in d[1:-1] and "\\" not in d):
            raise SchemaError(f"{where}: string default must be null or a \"quoted\" word without spaces")
    elif t in ("bytes", "records"):
        if d != "null":
            raise SchemaError(f"{where}: bytes/records default can only be null")
        if rng_empty(f.nullable):
            raise SchemaError(f"{where}: default=null on a field that is never nullable")
    else:
        raise SchemaError(f"{where}: type {t} takes no default")


def close_struct(fld, msg, where):
    """A struct field's children ended: register the struct (or reuse one)."""
    name = fld.type
    if not fld.struct.fields:
        if name in msg.structs:
            fld.struct = msg.structs[name]  # reference to a struct defined earlier
            return
        raise SchemaError(f"{where(fld.line)}: struct {name} has no fields and was not defined before")
    if name in msg.structs or name == msg.name:
        raise SchemaError(f"{where(fld.line)}: struct name {name} already used in {msg.name} "
                          f"(line {msg.structs[name].line if name in msg.structs else msg.line})")
    fld.struct.cname = msg.cname + "_" + snake(name)
    msg.structs[name] = fld.struct
    check_struct(fld.struct, msg, where)
    msg.order.append(fld.struct)


def finish_message(msg, stack, where):
    while stack:
        close_struct(stack.pop()[1], msg, where)
    check_struct(msg.root, msg, where)
    msg.order.append(msg.root)


def check_struct(st, msg, where):
    names = {}
    tags = {}
    for f in st.fields:
        if f.cname in names:
            raise SchemaError(f"{where(f.line)}: field {f.name} clashes with line {names[f.cname]}")
        names[f.cname] = f.line
        if f.tag is not None:
            if f.tag in tags:
                raise SchemaError(f"{where(f.line)}: tag {f.tag} already used on line {tags[f.tag]}")
            tags[f.tag] = f.line
            if f.type == "records" or (f.is_struct and contains_records(f.struct)):
                # The encoder back-patches tagged field sizes by moving bytes,
                # which must not cross a file splice.
                raise SchemaError(f"{where(f.line)}: records cannot be inside a tagged field")
        if not rng_within(f.versions, msg.api.versions) and f.versions[1] != VMAX:
            raise SchemaError(f"{where(f.line)}: field versions outside {msg.api.name}'s versions")
        if f.versions[0] > msg.api.versions[1]:
            raise SchemaError(f"{where(f.line)}: field starts after {msg.api.name}'s last version")


def contains_records(st):
    for f in st.fields:
        if f.type == "records":
            return True
        if f.is_struct and f.struct is not None and contains_records(f.struct):
            return True
    return False


def finish_api(api, where):
    if api.request is None or api.response is None:
        raise SchemaError(f"{where(api.line)}: api {api.name} needs both request and response")
    if not rng_empty(api.flexible) and not rng_within((api.flexible[0], api.versions[1]), api.versions):
        raise SchemaError(f"{where(api.line)}: flexible versions outside the api's versions")


# ---------------------------------------------------------------- analysis

def present(f, v):
    return f.versions[0] <= v <= f.versions[1]


def is_tagged(f, v):
    return f.tagged[0] <= v <= f.tagged[1]


def min_wire(st, v, flexible):
    """Fewest bytes an encoding of struct st at version v can take."""
    n = 1 if flexible else 0  # the tagged-field count
    for f in st.fields:
        if not present(f, v) or (flexible and is_tagged(f, v)):
            continue
        n += min_wire_field(f, v, flexible)
    return n


def min_wire_field(f, v, flexible):
    if f.is_array:
        return 1 if flexible else 4
    if f.is_struct:
        return min_wire(f.struct, v, flexible)
    fixed = PRIMS[f.type][2]
    if fixed is not None:
        return fixed
    if flexible:
        return 1
    return 2 if f.type == "string" else 4


def has_nonzero_default(st):
    for f in st.fields:
        if f.is_struct and not f.is_array:
            if has_nonzero_default(f.struct):
                return True
        elif f.default is not None and default_is_nonzero(f):
            return True
    return False


def default_is_nonzero(f):
    d = f.default
    if f.is_array:
        return d == "null"
    t = f.type
    if t == "bool":
        return d == "true"
    if t in INT_RANGES:
        return int(d, 0) != 0
    if t == "float64":
        return float(d) != 0.0
    if t == "string":
        return d == "null" or d != '""'
    return d == "null"


# ---------------------------------------------------------------- emission

def c_member(f):
    if f.is_array:
        elem = f.struct.cname + "_t" if f.is_struct else PRIMS[f.type][0]
        return f"struct {{ {elem} *items; int32_t count; }} {f.cname};"
    if f.is_struct:
        return f"{f.struct.cname}_t {f.cname};"
    return f"{PRIMS[f.type][0]} {f.cname};"


def c_comment(f):
    parts = [f"v{fmt_range(f.versions)}"]
    if not rng_empty(f.nullable):
        parts.append(f"nullable v{fmt_range(f.nullable)}")
    if f.tag is not None:
        parts.append(f"tag {f.tag} v{fmt_range(f.tagged)}")
    if f.default is not None:
        parts.append(f"default {f.default}")
    return "/* " + ", ".join(parts) + " */"


def fmt_range(r):
    if rng_empty(r):
        return "none"
    if r[1] == VMAX:
        return f"{r[0]}+"
    if r[0] == r[1]:
        return f"{r[0]}"
    return f"{r[0]}-{r[1]}"


def emit_header(apis, out_path):
    o = []
    o.append("/* proto_gen.h — GENERATED by gen_proto.py from kafka.schema. Do not edit.\n"
             " * Message structs, API keys and descriptors; see proto.h for the conventions. */")
    o.append("#ifndef BROOK_PROTO_GEN_H\n#define BROOK_PROTO_GEN_H\n")
    o.append("#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n")
    o.append("/** API keys (Kafka's numbers). */\nenum {")
    for a in sorted(apis, key=lambda a: a.key):
        o.append(f"  BROOK_API_{snake(a.name).upper()} = {a.key},")
    o.append("};\n")
    o.append(f"/** Number of APIs in the schema and the largest key. */")
    o.append(f"#define BROOK_PROTO_NUM_APIS {len(apis)}")
    o.append(f"#define BROOK_PROTO_MAX_API_KEY {max(a.key for a in apis)}\n")
    o.append("/** The schema's API keys in ascending order. */")
    o.append("extern const int16_t brook_proto_api_keys[BROOK_PROTO_NUM_APIS];\n")
    for a in apis:
        o.append(f"/* ---- {a.name} (key {a.key}), versions {fmt_range(a.versions)}, "
                 f"flexible {fmt_range((a.flexible[0], a.versions[1]) if not rng_empty(a.flexible) else a.flexible)} */\n")
        for m in (a.request, a.response):
            for st in m.order:
                o.append(f"typedef struct {st.cname} {{")
                if not st.fields:
                    o.append("  char unused_; /* no fields in any version */")
                for f in st.fields:
                    o.append(f"  {c_member(f)} {c_comment(f)}")
                o.append(f"}} {st.cname}_t;")
                o.append(f"extern const brook_msg_desc_t {st.cname}_desc;\n")
    o.append(PRIVATE_TYPES)
    o.append("#endif")
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(o) + "\n")



PRIVATE_TYPES = r"""#ifdef BROOK_PROTO_PRIVATE
/* Descriptor layout, shared by codec.c, proto_gen.c and white-box tests only.
 * Version ranges are inclusive [min, max]; an empty range has min > max. */
typedef enum brook_proto_kind {
  BROOK_PK_BOOL,
  BROOK_PK_INT8,
  BROOK_PK_INT16,
  BROOK_PK_INT32,
  BROOK_PK_INT64,
  BROOK_PK_UINT16,
  BROOK_PK_FLOAT64,
  BROOK_PK_UUID,
  BROOK_PK_STRING,
  BROOK_PK_BYTES,
  BROOK_PK_RECORDS,
  BROOK_PK_STRUCT,
  BROOK_PK_ARRAY
} brook_proto_kind_t;

typedef struct brook_proto_field {
  const char *name;  /* Kafka's field name, for diagnostics */
  uint8_t kind;      /* brook_proto_kind_t */
  uint8_t elem;      /* element kind of an array */
  bool def_null;     /* default is null (strings, bytes, records, arrays) */
  int16_t ver_min, ver_max;
  int16_t null_min, null_max;
  int16_t tag_min, tag_max;
  uint32_t tag;
  uint32_t offset;    /* offsetof the member (an array's .items) in its struct */
  uint32_t count_offset; /* offsetof an array's .count */
  uint32_t elem_size; /* sizeof an array element */
  const brook_msg_desc_t *sub; /* struct or array-of-struct element */
  int64_t def_int;    /* bool and integer defaults */
  double def_f64;
  const char *def_str; /* string default (NULL: "" or null, see def_null) */
} brook_proto_field_t;

struct brook_msg_desc {
  const char *name;
  const brook_proto_field_t *fields;
  const uint8_t *tagged; /* indices of tagged fields, ascending tag */
  const uint16_t *min_wire; /* [0..max_version]: fewest wire bytes at that version */
  uint16_t nfields;
  uint16_t ntagged;
  int16_t max_version;
  int16_t first_flexible; /* -1: never flexible */
  uint32_t size;
  bool has_defaults;       /* some field defaults to a non-zero value */
};
#endif
"""


def c_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def emit_source(apis, out_path):
    o = []
    o.append("/* proto_gen.c — GENERATED by gen_proto.py from kafka.schema. Do not edit. */")
    o.append("#define BROOK_PROTO_PRIVATE 1")
    o.append('#include "proto.h"\n')
    o.append("#include <stddef.h>\n")
    for a in apis:
        for m in (a.request, a.response):
            flex = a.first_flexible
            for st in m.order:
                emit_desc(o, a, m, st, flex)
    keys = sorted(apis, key=lambda a: a.key)
    o.append("const int16_t brook_proto_api_keys[BROOK_PROTO_NUM_APIS] = {")
    o.append("  " + ", ".join(str(a.key) for a in keys) + ",")
    o.append("};\n")
    for a in keys:
        o.append(f"static const brook_api_schema_t api_{snake(a.name)} = {{")
        o.append(f"  .key = {a.key}, .name = {c_str(a.name)}, .min_version = {a.versions[0]}, "
                 f".max_version = {a.versions[1]}, .first_flexible = {a.first_flexible},")
        o.append(f"  .request = &{a.request.cname}_desc, .response = &{a.response.cname}_desc,")
        o.append(f"  .request_size = sizeof({a.request.cname}_t), .response_size = sizeof({a.response.cname}_t),")
        o.append("};")
    o.append("\n/* Indexed by API key; holes are NULL. */")
    o.append("static const brook_api_schema_t *const api_by_key[BROOK_PROTO_MAX_API_KEY + 1] = {")
    for a in keys:
        o.append(f"  [{a.key}] = &api_{snake(a.name)},")
    o.append("};\n")
    o.append("const brook_api_schema_t *brook_proto_api(int16_t api_key) {")
    o.append("  if (api_key < 0 || api_key > BROOK_PROTO_MAX_API_KEY) return NULL;")
    o.append("  return api_by_key[api_key];")
    o.append("}")
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(o) + "\n")


def emit_desc(o, api, msg, st, flex):
    base = st.cname[len("brook_"):]
    rows = []
    for f in st.fields:
        kind = "ARRAY" if f.is_array else ("STRUCT" if f.is_struct else PRIMS[f.type][1])
        elem = ("STRUCT" if f.is_struct else PRIMS[f.type][1]) if f.is_array else "BOOL"
        r = [f".name = {c_str(f.name)}", f".kind = BROOK_PK_{kind}", f".elem = BROOK_PK_{elem}"]
        r.append(f".ver_min = {f.versions[0]}, .ver_max = {f.versions[1]}")
        r.append(f".null_min = {f.nullable[0]}, .null_max = {f.nullable[1]}")
        r.append(f".tag_min = {f.tagged[0]}, .tag_max = {f.tagged[1]}, .tag = {f.tag or 0}")
        if f.is_array:
            r.append(f".offset = offsetof({st.cname}_t, {f.cname}.items)")
            r.append(f".count_offset = offsetof({st.cname}_t, {f.cname}.count)")
            r.append(f".elem_size = sizeof(*(({st.cname}_t *)0)->{f.cname}.items)")
        else:
            r.append(f".offset = offsetof({st.cname}_t, {f.cname})")
        if f.is_struct:
            r.append(f".sub = &{f.struct.cname}_desc")
        d = f.default
        if d is not None:
            if d == "null":
                r.append(".def_null = true")
            elif f.type == "bool":
                r.append(f".def_int = {1 if d == 'true' else 0}")
            elif f.type in INT_RANGES:
                v = int(d, 0)
                if v == INT_RANGES["int64"][0]:
                    r.append(".def_int = INT64_MIN")
                else:
                    r.append(f".def_int = INT64_C({v})")
            elif f.type == "float64":
                r.append(f".def_f64 = {float(d)!r}")
            elif f.type == "string" and d != '""':
                r.append(f".def_str = {d}")
        rows.append("  {" + ", ".join(r) + "},")
    tagged = sorted([i for i, f in enumerate(st.fields) if f.tag is not None], key=lambda i: st.fields[i].tag)
    if len(st.fields) > 255:
        raise SchemaError(f"{st.line}: struct {st.name} has more than 255 fields")
    if st.fields:
        o.append(f"static const brook_proto_field_t {base}_fields[] = {{")
        o.extend(rows)
        o.append("};")
    if tagged:
        o.append(f"static const uint8_t {base}_tagged[] = {{{', '.join(map(str, tagged))}}};")
    mins = []
    for v in range(0, api.versions[1] + 1):
        mins.append(min_wire(st, v, flex >= 0 and v >= flex))
    if max(mins) > 0xFFFF:
        raise SchemaError(f"{st.line}: struct {st.name} is too large")
    o.append(f"static const uint16_t {base}_min_wire[] = {{{', '.join(map(str, mins))}}};")
    o.append(f"const brook_msg_desc_t {st.cname}_desc = {{")
    o.append(f"  .name = {c_str(st.name)}, .fields = {base + '_fields' if st.fields else 'NULL'}, "
             f".tagged = {base + '_tagged' if tagged else 'NULL'}, .min_wire = {base}_min_wire,")
    o.append(f"  .nfields = {len(st.fields)}, .ntagged = {len(tagged)}, .max_version = {api.versions[1]}, "
             f".first_flexible = {flex}, .size = sizeof({st.cname}_t), "
             f".has_defaults = {'true' if has_nonzero_default(st) else 'false'},")
    o.append("};\n")


def main(argv):
    if len(argv) != 4:
        sys.stderr.write("usage: gen_proto.py kafka.schema proto_gen.c proto_gen.h\n")
        return 2
    try:
        apis = parse(argv[1])
    except SchemaError as e:
        sys.stderr.write(f"error: {e}\n")
        return 1
    except OSError as e:
        sys.stderr.write(f"error: {e}\n")
        return 1
    try:
        emit_header(apis, argv[3])
        emit_source(apis, argv[2])
    except SchemaError as e:
        sys.stderr.write(f"error: {argv[1]}:{e}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
