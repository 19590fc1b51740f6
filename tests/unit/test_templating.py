"""Migration files are Jinja2 templates: env and vars substitution, sandboxing, and error positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from milvus_migrate.errors import SpecError
from milvus_migrate.files.loader import fold, load_migrations
from milvus_migrate.files.templating import RenderError, render

FIELDS = """\
collections:
  docs:
    fields:
      - name: id
        type: INT64
        is_primary: true
      - name: vec
        type: FLOAT_VECTOR
        dim: {{ vars.dim | default(768) }}
    indexes:
      - field_name: vec
        metric_type: L2
"""


@pytest.fixture
def migrations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Write migration files into a fresh directory (the working directory) and return a loader for it."""
    monkeypatch.chdir(tmp_path)

    def write(*texts: str) -> Path:
        for version, text in enumerate(texts, 1):
            (tmp_path / f"{version:04d}_step.yaml").write_text(text)
        return tmp_path

    return write


def problems_of(directory: Path, **kwargs) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_migrations(directory, **{"variables": {}, "environ": {}, **kwargs})
    return [str(p) for p in caught.value.problems]


def dim_of(directory: Path, **kwargs) -> int | None:
    state = fold(load_migrations(directory, **{"variables": {}, "environ": {}, **kwargs}))
    return state.collections["docs"].field("vec").dim


# --- substitution ------------------------------------------------------------------------------


def test_var_default_applies_when_the_var_is_not_given(migrations):
    assert dim_of(migrations(FIELDS)) == 768


def test_var_given_on_the_command_line_replaces_the_default(migrations):
    assert dim_of(migrations(FIELDS), variables={"dim": "1024"}) == 1024


def test_env_value_is_substituted(migrations):
    directory = migrations(FIELDS + "    load:\n      replica_number: {{ env.MILVUS_REPLICAS }}\n")

    state = fold(load_migrations(directory, variables={}, environ={"MILVUS_REPLICAS": "3"}))

    assert state.collections["docs"].load.replica_number == 3
    assert state.collections["docs"].load.loaded is True


def test_env_defaults_to_the_process_environment(migrations, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MILVUS_REPLICAS", "2")
    directory = migrations(FIELDS + "    load:\n      replica_number: {{ env.MILVUS_REPLICAS }}\n")

    state = fold(load_migrations(directory))

    assert state.collections["docs"].load.replica_number == 2


def test_variables_can_name_a_collection(migrations):
    directory = migrations(FIELDS.replace("  docs:", "  docs_{{ env.STAGE | default('dev') }}:"))

    state = fold(load_migrations(directory, variables={}, environ={"STAGE": "prod"}))

    assert list(state.collections) == ["docs_prod"]


def test_a_substituted_string_where_a_number_is_needed_points_at_the_value(migrations):
    directory = migrations(FIELDS.replace("dim: {{ vars.dim | default(768) }}", 'dim: "{{ vars.dim }}"'))

    assert problems_of(directory, variables={"dim": "768"}) == [
        "0001_step.yaml:9:14: dim must be an integer, not the string '768'"
    ]


def test_a_rule_broken_by_a_substituted_value_points_at_the_expression(migrations):
    directory = migrations(FIELDS)

    assert problems_of(directory, variables={"dim": "0"}) == ["0001_step.yaml:9:14: dim must be between 1 and 32768, got 0"]


def test_a_value_built_from_several_expressions_points_at_the_value(migrations):
    directory = migrations(FIELDS.replace("  docs:", "  {{ vars.prefix }}-{{ vars.name }}:"))

    assert problems_of(directory, variables={"prefix": "my", "name": "docs"}) == [
        "0001_step.yaml:2:3: invalid collection name 'my-docs': use letters, digits and underscores, "
        "starting with a letter or underscore, at most 255 characters"
    ]


# --- undefined names ---------------------------------------------------------------------------


def test_undefined_var_names_the_var_and_points_at_it(migrations):
    directory = migrations(FIELDS.replace("{{ vars.dim | default(768) }}", "{{ vars.dim }}"))

    assert problems_of(directory) == [
        "0001_step.yaml:9:22: template error: 'dim' is not defined (pass it with --var dim=VALUE, or use | default(...))"
    ]


def test_undefined_var_in_subscript_form(migrations):
    directory = migrations(FIELDS.replace("{{ vars.dim | default(768) }}", "{{ vars['dim'] }}"))

    assert problems_of(directory) == [
        "0001_step.yaml:9:23: template error: 'dim' is not defined (pass it with --var dim=VALUE, or use | default(...))"
    ]


def test_undefined_env_variable_says_to_set_it(migrations):
    directory = migrations(FIELDS + "    load:\n      replica_number: {{ env.MILVUS_REPLICAS }}\n")

    assert problems_of(directory) == [
        "0001_step.yaml:14:30: template error: environment variable MILVUS_REPLICAS is not set "
        "(set it, or use | default(...))"
    ]


def test_undefined_top_level_name(migrations):
    directory = migrations("description: {{ release }}\n" + FIELDS)

    assert problems_of(directory) == [
        "0001_step.yaml:1:17: template error: 'release' is undefined (the template variables are 'env' and 'vars')"
    ]


def test_undefined_var_in_a_block_tag(migrations):
    directory = migrations(
        FIELDS.replace(
            "        dim: {{ vars.dim | default(768) }}\n",
            "{% if vars.big %}\n        dim: 4096\n{% else %}\n        dim: 8\n{% endif %}\n",
        )
    )

    assert problems_of(directory) == [
        "0001_step.yaml:9:12: template error: 'big' is not defined (pass it with --var big=VALUE, or use | default(...))"
    ]
    assert dim_of(directory, variables={"big": "yes"}) == 4096


# --- syntax errors -----------------------------------------------------------------------------


def test_template_syntax_error_points_at_the_tag(migrations):
    directory = migrations(FIELDS.replace("        dim:", "        {% if %}\n        dim:"))

    assert problems_of(directory) == [
        "0001_step.yaml:9:9: template syntax error: Expected an expression, got 'end of statement block'"
    ]


def test_yaml_error_in_rendered_text_points_at_the_source_line(migrations):
    directory = migrations(FIELDS.replace("metric_type: L2", "metric_type: {{ vars.metric }}"))

    assert problems_of(directory, variables={"metric": "L2: x"}) == [
        "0001_step.yaml:12:22: YAML syntax error: mapping values are not allowed here"
    ]


# --- sandbox -----------------------------------------------------------------------------------

ESCAPES = [
    ("''.__class__.__mro__", "access to attribute '__class__' of 'str' object is unsafe."),
    ("''.__class__.__mro__[1].__subclasses__()", "access to attribute '__class__' of 'str' object is unsafe."),
    ("().__class__.__base__.__subclasses__()", "access to attribute '__class__' of 'tuple' object is unsafe."),
    ("cycler.__init__.__globals__", "access to attribute '__init__' of 'type' object is unsafe."),
    ("cycler.__init__.__globals__.os.system('touch PWNED')", "access to attribute '__init__' of 'type' object is unsafe."),
    ("joiner.__init__.__globals__", "access to attribute '__init__' of 'type' object is unsafe."),
    ("self._TemplateReference__context", "access to attribute '_TemplateReference__context' of 'TemplateReference' object is unsafe."),
    ("lipsum.__globals__", "access to attribute '__globals__' of 'function' object is unsafe."),
    ("lipsum.__globals__['os'].popen('touch PWNED').read()", "access to attribute '__globals__' of 'function' object is unsafe."),
    ("'{0.__class__.__mro__}'.format('')", "access to attribute '__class__' of 'str' object is unsafe."),
    ("'{0.__globals__}'.format(lipsum)", "access to attribute '__globals__' of 'function' object is unsafe."),
    ("env.__class__", "access to attribute '__class__' of 'dict' object is unsafe."),
    ("vars.update({'dim': 1})", "access to attribute 'update' of 'dict' object is unsafe."),
]


@pytest.mark.parametrize(("expression", "message"), ESCAPES)
def test_sandbox_escape_is_refused_with_its_location(expression: str, message: str, migrations):
    directory = migrations(FIELDS.replace("collections:", f'description: "{{{{ {expression} }}}}"\ncollections:'))

    assert problems_of(directory) == [f"0001_step.yaml:1:15: template error: {message}"]
    assert not (directory / "PWNED").exists()


@pytest.mark.parametrize(("expression", "_message"), ESCAPES)
def test_sandbox_escape_is_refused_by_render(expression: str, _message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RenderError) as caught:
        render(f"a: 1\nb: {{{{ {expression} }}}}\n", "f.yaml", {}, {})
    assert (caught.value.problem.line, caught.value.problem.col) == (2, 4)
    assert "unsafe" in caught.value.problem.message
    assert not (tmp_path / "PWNED").exists()


def test_python_tags_are_refused_even_when_a_template_produces_them(migrations):
    directory = migrations("description: {{ vars.tag }} ['id']\n" + FIELDS)

    assert problems_of(directory, variables={"tag": "!!python/object/apply:os.system"}) == [
        "0001_step.yaml:1:14: YAML tag '!!python/object/apply:os.system' is not allowed (only plain data)"
    ]


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("'x' * 10 ** 9", "'*' would build a value of more than 1048576 items"),
        ("[0] * 10 ** 9", "'*' would build a value of more than 1048576 items"),
        ("10 ** 1000000000", "'**' would build a number that is too large"),
    ],
)
def test_templates_cannot_build_huge_values(expression: str, message: str, migrations):
    directory = migrations(f"description: x{{{{ {expression} }}}}\n" + FIELDS)

    assert problems_of(directory) == [f"0001_step.yaml:1:15: template error: {message}"]


def test_small_products_still_work(migrations):
    directory = migrations(FIELDS.replace("dim: {{ vars.dim | default(768) }}", "dim: {{ 2 ** 3 * 4 }}").replace(
        "collections:", "description: {{ 'ab' * 2 }}\ncollections:"
    ))

    migration_set = load_migrations(directory, variables={}, environ={})

    assert migration_set.migrations[0].description == "abab"
    assert fold(migration_set).collections["docs"].field("vec").dim == 32


def test_deeply_nested_template_is_an_error_not_a_crash(migrations):
    directory = migrations("description: {{ " + "(" * 300 + "1" + ")" * 300 + " }}\n" + FIELDS)

    assert problems_of(directory) == ["0001_step.yaml:1:1: template error: the template is nested too deeply"]


# --- loops and line mapping --------------------------------------------------------------------

LOOP = """\
collections:
  docs:
    fields:
      - name: id
        type: INT64
        is_primary: true
{% for i in range(vars.n | default(3) | int) %}
      - name: vec{{ i }}
        type: FLOAT_VECTOR
        dim: {{ vars.dims[i] | default(8) if vars.dims is defined else 8 }}
{% endfor %}
      - name: title
        type: VARCHAR
        max_length: {{ vars.max_length | default(100) }}
    indexes:
{% for i in range(vars.n | default(3) | int) %}
      - field_name: vec{{ i }}
        metric_type: {{ vars.metric | default('L2') }}
{% endfor %}
"""


def test_for_loop_generates_fields(migrations):
    state = fold(load_migrations(migrations(LOOP), variables={"n": "4"}, environ={}))

    docs = state.collections["docs"]
    assert [f.name for f in docs.fields] == ["id", "vec0", "vec1", "vec2", "vec3", "title"]
    assert [i.field_name for i in docs.indexes] == ["vec0", "vec1", "vec2", "vec3"]


def test_error_after_a_loop_points_at_its_source_line(migrations):
    directory = migrations(LOOP)

    assert problems_of(directory, variables={"n": "5", "max_length": "0"}) == [
        "0001_step.yaml:14:21: max_length must be between 1 and 65535, got 0"
    ]


def test_error_in_a_later_loop_points_at_the_loop_body(migrations):
    directory = migrations(LOOP)

    assert problems_of(directory, variables={"metric": "HAMMING"}) == [
        "0001_step.yaml:18:22: metric_type HAMMING does not fit FLOAT_VECTOR; use one of COSINE, IP, L2"
    ] * 3


def test_error_in_one_generated_line_points_at_the_template_line(migrations):
    directory = migrations(LOOP.replace("{{ vars.dims[i] | default(8) if vars.dims is defined else 8 }}", "{{ 0 if i == 2 else 8 }}"))

    assert problems_of(directory) == ["0001_step.yaml:10:14: dim must be between 1 and 32768, got 0"]


def test_whitespace_control_keeps_positions_right(migrations):
    directory = migrations(
        LOOP.replace("{% for", "{%- for").replace("{% endfor %}", "{%- endfor %}").replace("metric_type: {{ vars.metric | default('L2') }}", "metric_type: L2")
        + "    num_shards: 99\n"
    )

    assert problems_of(directory) == ["0001_step.yaml:20:17: num_shards must be between 1 and 16"]


def test_set_and_comment_lines_keep_positions(migrations):
    directory = migrations("{% set d = 0 %}\n{# the dimension #}\n" + FIELDS.replace("{{ vars.dim | default(768) }}", "{{ d }}"))

    assert problems_of(directory) == ["0001_step.yaml:11:14: dim must be between 1 and 32768, got 0"]


def test_loop_with_undefined_variable_inside_points_at_the_body_line(migrations):
    directory = migrations(LOOP.replace("dim: {{ vars.dims[i] | default(8) if vars.dims is defined else 8 }}", "dim: {{ vars.dim }}"))

    assert problems_of(directory) == [
        "0001_step.yaml:10:22: template error: 'dim' is not defined (pass it with --var dim=VALUE, or use | default(...))"
    ]
