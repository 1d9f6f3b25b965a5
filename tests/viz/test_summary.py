"""summary: layers, output shapes and parameter counts."""
import chainrule


def test_summary_table():
    model = chainrule.models.MLP(64, (128, 128, 128), 10)
    s = chainrule.summary(model, (1, 64))
    assert [r[1] for r in s.rows][:3] == ["Flatten", "Linear", "ReLU"]
    assert s.rows[1][2] == (1, 128) and s.rows[1][3] == 64 * 128 + 128
    assert s.total == model.num_parameters() == 42_634
    assert "total parameters: 42,634" in s.to_text()
    assert s.to_dict()["layers"][-1]["output_shape"] == [1, 10]
