"""Component: ports from forward() and ``outputs``, functional calls, config, recorded construction."""
from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from lkbuild import Component, GraphError, Node, OutputPort
from lkbuild.component import InputPort, encode_construction


class Camera(Component):
    def __init__(self, name="camera", rate_hz=None):
        super().__init__(name, rate_hz=rate_hz)

    def forward(self):
        return 1


class Detector(Component):
    @dataclass
    class Config:
        threshold: float = 0.5
        rate_hz: float = 5.0

    outputs = ("detections", "debug")

    def __init__(self, node=None, config=None):
        super().__init__("detector", node=node, config=config)

    def forward(self, image, odom=None):
        return {"detections": image, "debug": odom}


class Typed(Component):
    outputs = {"pose": float, "ok": bool}

    def forward(self, x):
        return (1.0, True)


class Sink(Component):
    outputs = ()

    def forward(self, x):
        return None


class DepthCamera(Component):
    def forward(self):
        return 0


class Doubler(Component):
    def forward(self, x):
        return 2 * x


# -- ports ----------------------------------------------------------------------------------------------------
def test_outputs_are_names_on_the_class_and_handles_on_instances():
    assert Detector.outputs == ("detections", "debug")
    assert Camera.outputs == ("out",)
    assert Sink.outputs == ()
    assert Typed.outputs == ("pose", "ok")
    det = Detector()
    assert list(det.outputs) == ["detections", "debug"]
    handle = det.outputs.detections
    assert isinstance(handle, OutputPort) and (handle.component, handle.name) == (det, "detections")
    assert det.outputs["debug"] is det.outputs[1] is det.outputs.debug
    assert repr(handle) == "<output detector.detections>"


def test_inputs_come_from_forward_parameters_and_defaults_make_them_optional():
    det = Detector()
    assert list(det.inputs) == ["image", "odom"]
    assert det._lk_required == frozenset({"image"})
    port = det.inputs.image
    assert isinstance(port, InputPort) and repr(port) == "<input detector.image>"
    assert Camera().is_source and not det.is_source


def test_an_unknown_port_name_lists_the_known_ones():
    det = Detector()
    with pytest.raises(GraphError) as err:
        det.inputs.imgae
    assert str(err.value) == "Component 'detector' has no input named 'imgae'. Its inputs: image, odom."
    with pytest.raises(GraphError) as err:
        det.outputs["dets"]
    assert str(err.value) == "Component 'detector' has no output named 'dets'. Its outputs: detections, debug."


def test_out_is_the_single_output_and_an_error_with_several():
    camera = Camera()
    assert camera.out is camera.outputs.out
    with pytest.raises(GraphError) as err:
        Detector().out
    assert str(err.value) == (
        "Component 'detector' has 2 outputs (detections, debug); use detector.outputs.<name> instead of .out."
    )
    with pytest.raises(GraphError, match=r"^Component 'sink' has 0 outputs \(none\); "):
        Sink().out


def test_bad_outputs_declaration_is_refused_when_the_class_is_defined():
    with pytest.raises(GraphError) as err:
        class Bad(Component):
            outputs = ("a", 2)

            def forward(self):
                return None
    assert str(err.value) == (
        "Bad.outputs must be a name, a tuple of names or a dict name -> type. Received: outputs=('a', 2)"
    )


def test_a_single_string_output_is_one_output():
    class Named(Component):
        outputs = "pose"

        def forward(self):
            return 1

    assert Named.outputs == ("pose",) and Named().out.name == "pose"


def test_forward_with_star_args_or_without_forward_is_refused():
    class Star(Component):
        def forward(self, *values):
            return None

    with pytest.raises(GraphError) as err:
        Star()
    assert err.value.message == "Star.forward() takes *values: ports cannot be known. Name every input as a parameter."
    assert err.value.location.file == __file__  # the forward() that cannot be read
    assert err.value.code == "LK254"

    class NoForward(Component):
        pass

    with pytest.raises(GraphError) as err:
        NoForward()
    assert err.value.message == "NoForward has no forward() method; a Component must define forward()."


def test_the_default_name_is_the_class_name_in_snake_case():
    assert DepthCamera().name == "depth_camera"
    assert repr(DepthCamera()) == "<DepthCamera 'depth_camera'>"


def test_loop_starters_are_components_that_define_initial_outputs():
    class Starter(Component):
        def initial_outputs(self):
            return 0

        def forward(self, x):
            return x

    assert Starter().starts_loop and not Doubler().starts_loop


# -- calling ---------------------------------------------------------------------------------------------------
def test_calling_with_values_runs_forward():
    assert Doubler()(21) == 42
    assert Doubler()(x=4) == 8
    assert Detector()(image=1) == {"detections": 1, "debug": None}


def test_calling_with_handles_records_wiring_and_returns_output_handles():
    camera, det = Camera(), Detector()
    result = det(image=camera.out)
    assert det._lk_wiring == {"image": camera.out}
    assert result.detections is det.outputs.detections
    dets, debug = det(camera.out)  # several outputs unpack to handles, in declared order
    assert (dets, debug) == (det.outputs.detections, det.outputs.debug)
    assert Doubler()(x=camera.out).name == "out"
    assert Sink()(x=camera.out) is None


def test_calling_with_all_outputs_of_a_multi_output_component_says_which_to_pick():
    det = Detector()
    outputs = det(image=Camera().out)
    with pytest.raises(GraphError) as err:
        Sink()(x=outputs)
    assert str(err.value) == (
        "Component 'sink' was called with all the outputs of 'detector' (detections, debug); pass one of them, "
        "e.g. detector.outputs.detections."
    )


@pytest.mark.parametrize("call, message", [
    (lambda d, c: d(image=c.out, odom=3),
     "Component 'detector' was called with a mix of port handles and values; wire every input with a handle "
     "(or use a Config field for constants)."),
    (lambda d, c: d(c.out, c.out, c.out),
     "Component 'detector' takes 2 inputs (image, odom); got 3 positional."),
    (lambda d, c: d(c.out, image=c.out), "Component 'detector': input 'image' given twice."),
    (lambda d, c: d(imgae=c.out), "Component 'detector' has no input named 'imgae'. Its inputs: image, odom."),
])
def test_bad_functional_calls_say_what_is_wrong(call, message):
    with pytest.raises(GraphError) as err:
        call(Detector(), Camera())
    assert str(err.value) == message


def test_creating_a_component_inside_another_is_refused_where_it_happens():
    class Inner(Component):
        def forward(self):
            return 1

    class Outer(Component):
        def __init__(self):
            super().__init__("outer")
            self.inner = Inner()  # the line the error points at

        def forward(self):
            return 1

    with pytest.raises(GraphError) as err:
        Outer()
    assert err.value.message == (
        "Component Inner is created inside component 'Outer'. Don't nest components — use a System to compose them."
    )
    assert err.value.location.file == __file__
    assert "self.inner = Inner()" in open(__file__).read().splitlines()[err.value.location.line - 1]
    assert Inner().name == "inner"  # the failure leaves nothing behind


def test_the_creation_line_is_remembered():
    line = sys._getframe().f_lineno + 1
    camera = Camera()
    assert (camera._lk_created_at.file, camera._lk_created_at.line) == (__file__, line)


# -- configuration ---------------------------------------------------------------------------------------------
def test_config_defaults_dicts_and_instances():
    assert Detector().config == Detector.Config()
    assert Detector(config={"threshold": 0.9}).config == Detector.Config(threshold=0.9)
    cfg = Detector.Config(threshold=0.1)
    assert Detector(config=cfg).config is cfg


def test_bad_config_is_refused_naming_the_component():
    with pytest.raises(GraphError) as err:
        Detector(config={"treshold": 0.9})
    assert str(err.value).startswith("Component 'detector': bad config {'treshold': 0.9}: ")
    with pytest.raises(GraphError) as err:
        Detector(config=0.9)
    assert str(err.value) == (
        "Component 'detector': config must be a Detector.Config or a dict. Received: config=0.9 (of type float)"
    )


def test_rate_comes_from_the_argument_then_the_config_then_the_default():
    assert Camera().rate_hz == 10.0
    assert Camera(rate_hz=30).rate_hz == 30.0
    assert Detector().rate_hz == 5.0
    for bad in (0, -1, "fast", True, float("nan"), float("inf")):
        with pytest.raises(GraphError) as err:
            Camera(rate_hz=bad)
        assert str(err.value) == (f"Component 'camera': rate_hz must be a positive, finite number of firings per "
                                  f"second. Received: rate_hz={bad!r}")


def test_node_must_be_a_node():
    assert Detector(node=Node("vision")).node.name == "vision"
    with pytest.raises(GraphError) as err:
        Detector(node="vision")
    assert str(err.value) == "Component 'detector': node must be a Node. Received: node='vision' (of type str)"


def test_name_must_be_a_non_empty_string():
    with pytest.raises(GraphError) as err:
        Camera(name="")
    assert str(err.value) == "Camera: name must be a non-empty string. Received: name=''"


# -- recorded construction ---------------------------------------------------------------------------------------
class Recorded(Component):
    def __init__(self, name, values=(), *, options=None, blob=b"", node=None, config=None, rate_hz=None):
        super().__init__(name, node=node, config=config, rate_hz=rate_hz)

    def forward(self):
        return 1


def test_construction_is_recorded_as_json_data():
    c = Recorded("r", (1, [2.0, float("inf")]), options={"$x": None, "k": (True,)}, blob=b"\x00\x01",
                 node=Node("n"))
    assert encode_construction(c) == {
        "args": ["r", {"$tuple": [1, [2.0, {"$float": "inf"}]]}],
        "kwargs": {"options": {"$dict": {"$x": None, "k": {"$tuple": [True]}}}, "blob": {"$bytes": "AAE="},
                   "node": {"$node": "n"}},
    }


def test_config_instances_are_recorded_field_by_field():
    c = Detector(config=Detector.Config(threshold=0.25))
    assert encode_construction(c) == {"args": [], "kwargs": {"config": {"$config": {"threshold": 0.25, "rate_hz": 5.0}}}}


@pytest.mark.parametrize("build, where, why", [
    (lambda: Recorded("r", object()), "values", "value of type object"),
    (lambda: Recorded("r", options={"model": open}), "options['model']", "value of type builtin_function_or_method"),
    (lambda: Recorded("r", [1, {2}]), "values[1]", "value of type set"),
    (lambda: Recorded("r", options={1: "a"}), "options", "dict keys must be strings"),
])
def test_an_argument_that_cannot_be_recorded_names_component_and_argument(build, where, why):
    c = build()
    with pytest.raises(GraphError) as err:
        encode_construction(c)
    assert err.value.message == (
        f"Component 'r': constructor argument '{where}' cannot be recorded ({why}). Arguments must be numbers, "
        "strings, bools, None, bytes, lists/tuples/dicts of those, the component's Config, or a Node. "
        "Create other objects in setup() instead."
    )
    assert err.value.location.file == __file__


def test_what_the_codec_refuses_is_lkbuilds_codec_error_a_user_error_and_the_runtimes_too():
    import lkbuild
    from lkbuild.runtime_stubs.lk_runtime import errors as wire

    with pytest.raises(lkbuild.CodecError) as caught:
        lkbuild.message(int)
    assert isinstance(caught.value, lkbuild.UserError) and isinstance(caught.value, wire.CodecError)
    assert caught.value.exit_code == 2 and "only dataclasses" in str(caught.value)


PLAIN_FORWARDS = [
    "def forward(self): pass",
    "def forward(self, x): pass",
    "def forward(self, x, y=1): pass",
    "def forward(self, x=1, y=2): pass",
    "def forward(self, x, /, y): pass",
    "def forward(self, *, k): pass",
    "def forward(self, a, *, k=3, m): pass",
    "def forward(self, a, b, c=1, *, d, e=2): pass",
    "def forward(*, k, m=1): pass",
    "def forward(): pass",
]


@pytest.mark.parametrize("source", PLAIN_FORWARDS)
def test_forward_ports_read_from_the_code_are_what_inspect_says(source):
    import inspect

    from lkbuild.component import _plain_parameters

    namespace = {}
    exec(source, namespace)
    forward = namespace["forward"]
    params = list(inspect.signature(forward).parameters.values())[1:]
    expected = (tuple(p.name for p in params), frozenset(p.name for p in params if p.default is p.empty))
    assert _plain_parameters(forward) == expected


def test_forward_ports_of_wrapped_or_variadic_functions_are_left_to_inspect():
    import functools

    from lkbuild.component import _plain_parameters

    def variadic(self, *xs):
        pass

    def keywords(self, **xs):
        pass

    @functools.wraps(variadic)
    def wrapper(*args, **kwargs):
        pass

    assert _plain_parameters(variadic) is None
    assert _plain_parameters(keywords) is None
    assert _plain_parameters(wrapper) is None
    assert _plain_parameters(len) is None
