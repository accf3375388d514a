"""What a kernel message costs to send as typed records on wire frames, against pickle.

    python benchmarks/records.py [--repeat N]

Runs the autograd tutorial in a session, builds the messages the kernel sends for
it (every cell's CellFinished and CallChecked), and times, in CPU seconds of this
process, encoding them into frames (the kernel's side) and decoding them back into
checked records (the window's side), next to pickling the same records
(what the pipe kernel did before). Prints the per-run cost and the ratio to
pickle in the same run; there is no target, it shows what decoding costs the GUI
thread.
"""
from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def tutorial_messages() -> list:
    from gradstudio.studio import compare
    from gradstudio.studio.kernel import records, schema
    from gradstudio.studio.session import Session, split_cells
    session = Session("tutorial.py")
    messages = []
    text = (ROOT / "resources" / "examples" / "autograd_tutorial.py").read_text()
    for cell in split_cells(text):
        run = session.run_cell(cell.source, cell=cell.index, first_line=cell.first_line)
        calls = [records.call_data(c) for c in run.backward_calls]
        messages.append(schema.CellFinished(run=records.run_data(run, cell.first_line), calls=calls,
                                            tensors=records.tensors_data(session.named_tensors())))
        for call in run.backward_calls:
            if records.checkable(call):
                messages.append(schema.CallChecked(records.check_data(compare.check_call(call, {}))))
    return messages


def cpu(function, repeat: int) -> float:
    started = time.process_time()
    for _ in range(repeat):
        function()
    return (time.process_time() - started) / repeat


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args(argv)
    from gradstudio.studio.kernel import schema
    messages = tutorial_messages()
    frames = [schema.encode_frame(m) for m in messages]
    pickles = [pickle.dumps(m) for m in messages]
    assert [schema.decode_frame(f) for f in frames] == messages
    encode = cpu(lambda: [schema.encode_frame(m) for m in messages], args.repeat)
    decode = cpu(lambda: [schema.decode_frame(f) for f in frames], args.repeat)
    dump = cpu(lambda: [pickle.dumps(m) for m in messages], args.repeat)
    load = cpu(lambda: [pickle.loads(p) for p in pickles], args.repeat)
    print(f"the tutorial's {len(messages)} messages: {sum(map(len, frames)) / 1e3:.1f} kB as frames, "
          f"{sum(map(len, pickles)) / 1e3:.1f} kB pickled")
    print(f"  encode (kernel)   {encode * 1e3:7.2f} ms   pickle.dumps {dump * 1e3:6.2f} ms   ratio {encode / dump:5.2f}")
    print(f"  decode (window)   {decode * 1e3:7.2f} ms   pickle.loads {load * 1e3:6.2f} ms   ratio {decode / load:5.2f}")


if __name__ == "__main__":
    main()
