from django import forms

from home.models import CreatorApplication


class CreatorApplicationForm(forms.ModelForm):
    class Meta:
        model = CreatorApplication
        fields = ["display_name", "niche", "bio"]
        widgets = {"bio": forms.Textarea(attrs={"rows": 5})}
