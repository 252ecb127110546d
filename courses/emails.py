"""The e-mails of the courses app."""

from config.mail import absolute_url, build_email

from .models import Enrollment


def send_course_completed(*, enrollment_id: int) -> None:
    """Congratulate a learner who completed every lesson (sent once: see complete_lesson)."""
    enrollment = Enrollment.objects.select_related("learner", "course").get(pk=enrollment_id)
    course = enrollment.course
    creator = course.creator_page
    build_email(
        to=enrollment.learner.email,
        subject=f"You finished {course.title}",
        template="course_completed",
        context={
            "learner_name": enrollment.learner.first_name or enrollment.learner.email,
            "course": course,
            "course_url": absolute_url(course.url),
            "lesson_count": course.lessons().count(),
            "creator_name": creator.title,
            "creator_url": absolute_url(creator.url),
        },
    ).send()
