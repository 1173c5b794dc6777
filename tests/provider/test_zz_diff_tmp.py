import difflib
import tests.provider.test_invitations_look_alike as t
from tests.provider.test_invitations_look_alike import accounts  # noqa
def test_diff(client, w, accounts, smtp_server):
    client.login(w.admin_a)
    a = None
    for case in t.CASES:
        b = t._inviter_view(client, *case[1:])
        if a is None:
            a = b
            continue
        for (s, x), (_, y) in zip(a, b):
            if x != y:
                print("CASE", case, "STEP", s)
                print("\n".join(difflib.unified_diff(x["body"].splitlines(), y["body"].splitlines(), lineterm="", n=1)))
