from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        """Keep the time zone the browser guessed at sign-up (see ``SignupForm``)."""
        user = super().save_user(request, user, form, commit=False)
        time_zone = form.cleaned_data.get("time_zone")
        if time_zone:
            user.time_zone = time_zone
        if commit:
            user.save()
        return user
