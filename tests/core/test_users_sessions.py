"""Signing out ends the user's browser sessions everywhere (the UI compares cookie stamps)."""


async def test_sign_out_everywhere_stamps_the_user(core, project):
    user = await core.users.create("sam@example.com", "s3cret-pw", project)
    assert user.signed_out_at is None
    await core.users.sign_out_everywhere(user.id)
    stamped = await core.users.get(user.id)
    assert stamped.signed_out_at is not None and stamped.signed_out_at.microsecond == 0
