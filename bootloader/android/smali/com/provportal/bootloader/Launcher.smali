# The launcher Activity: a username, a password and a button; the button runs
# the bootloader off the main thread (see Run), and what it prints is shown
# below, line by line (see Line).
.class public Lcom/provportal/bootloader/Launcher;
.super Landroid/app/Activity;
.implements Landroid/view/View$OnClickListener;
.source "Launcher.smali"

.field output:Landroid/widget/TextView;
.field username:Landroid/widget/EditText;
.field password:Landroid/widget/EditText;
.field logon:Landroid/widget/Button;

.method public constructor <init>()V
    .locals 0
    invoke-direct {p0}, Landroid/app/Activity;-><init>()V
    return-void
.end method

.method protected onCreate(Landroid/os/Bundle;)V
    .locals 4
    invoke-super {p0, p1}, Landroid/app/Activity;->onCreate(Landroid/os/Bundle;)V

    new-instance v0, Landroid/widget/LinearLayout;
    invoke-direct {v0, p0}, Landroid/widget/LinearLayout;-><init>(Landroid/content/Context;)V
    const/4 v1, 0x1
    invoke-virtual {v0, v1}, Landroid/widget/LinearLayout;->setOrientation(I)V
    const/16 v1, 0x20
    invoke-virtual {v0, v1, v1, v1, v1}, Landroid/view/View;->setPadding(IIII)V

    new-instance v1, Landroid/widget/TextView;
    invoke-direct {v1, p0}, Landroid/widget/TextView;-><init>(Landroid/content/Context;)V
    const-string v2, "Log on with your company username and password to set up this phone."
    invoke-virtual {v1, v2}, Landroid/widget/TextView;->setText(Ljava/lang/CharSequence;)V
    invoke-virtual {v0, v1}, Landroid/view/ViewGroup;->addView(Landroid/view/View;)V

    new-instance v1, Landroid/widget/EditText;
    invoke-direct {v1, p0}, Landroid/widget/EditText;-><init>(Landroid/content/Context;)V
    const-string v2, "Username"
    invoke-virtual {v1, v2}, Landroid/widget/TextView;->setHint(Ljava/lang/CharSequence;)V
    const/4 v2, 0x1
    invoke-virtual {v1, v2}, Landroid/widget/TextView;->setSingleLine(Z)V
    invoke-virtual {v0, v1}, Landroid/view/ViewGroup;->addView(Landroid/view/View;)V
    iput-object v1, p0, Lcom/provportal/bootloader/Launcher;->username:Landroid/widget/EditText;

    new-instance v1, Landroid/widget/EditText;
    invoke-direct {v1, p0}, Landroid/widget/EditText;-><init>(Landroid/content/Context;)V
    const-string v2, "Password"
    invoke-virtual {v1, v2}, Landroid/widget/TextView;->setHint(Ljava/lang/CharSequence;)V
    # TYPE_CLASS_TEXT | TYPE_TEXT_VARIATION_PASSWORD
    const/16 v2, 0x81
    invoke-virtual {v1, v2}, Landroid/widget/TextView;->setInputType(I)V
    invoke-virtual {v0, v1}, Landroid/view/ViewGroup;->addView(Landroid/view/View;)V
    iput-object v1, p0, Lcom/provportal/bootloader/Launcher;->password:Landroid/widget/EditText;

    new-instance v1, Landroid/widget/Button;
    invoke-direct {v1, p0}, Landroid/widget/Button;-><init>(Landroid/content/Context;)V
    const-string v2, "Log on"
    invoke-virtual {v1, v2}, Landroid/widget/TextView;->setText(Ljava/lang/CharSequence;)V
    invoke-virtual {v1, p0}, Landroid/view/View;->setOnClickListener(Landroid/view/View$OnClickListener;)V
    invoke-virtual {v0, v1}, Landroid/view/ViewGroup;->addView(Landroid/view/View;)V
    iput-object v1, p0, Lcom/provportal/bootloader/Launcher;->logon:Landroid/widget/Button;

    new-instance v1, Landroid/widget/ScrollView;
    invoke-direct {v1, p0}, Landroid/widget/ScrollView;-><init>(Landroid/content/Context;)V
    new-instance v2, Landroid/widget/TextView;
    invoke-direct {v2, p0}, Landroid/widget/TextView;-><init>(Landroid/content/Context;)V
    sget-object v3, Landroid/graphics/Typeface;->MONOSPACE:Landroid/graphics/Typeface;
    invoke-virtual {v2, v3}, Landroid/widget/TextView;->setTypeface(Landroid/graphics/Typeface;)V
    const/4 v3, 0x1
    invoke-virtual {v2, v3}, Landroid/widget/TextView;->setTextIsSelectable(Z)V
    invoke-virtual {v1, v2}, Landroid/view/ViewGroup;->addView(Landroid/view/View;)V
    iput-object v2, p0, Lcom/provportal/bootloader/Launcher;->output:Landroid/widget/TextView;
    invoke-virtual {v0, v1}, Landroid/view/ViewGroup;->addView(Landroid/view/View;)V

    invoke-virtual {p0, v0}, Landroid/app/Activity;->setContentView(Landroid/view/View;)V
    return-void
.end method

# The button: the logon goes to the bootloader, the password on its standard
# input, never on its command line.
.method public onClick(Landroid/view/View;)V
    .locals 4
    iget-object v0, p0, Lcom/provportal/bootloader/Launcher;->logon:Landroid/widget/Button;
    const/4 v1, 0x0
    invoke-virtual {v0, v1}, Landroid/view/View;->setEnabled(Z)V

    iget-object v0, p0, Lcom/provportal/bootloader/Launcher;->username:Landroid/widget/EditText;
    invoke-virtual {v0}, Landroid/widget/EditText;->getText()Landroid/text/Editable;
    move-result-object v0
    invoke-virtual {v0}, Ljava/lang/Object;->toString()Ljava/lang/String;
    move-result-object v0
    invoke-virtual {v0}, Ljava/lang/String;->trim()Ljava/lang/String;
    move-result-object v0

    iget-object v1, p0, Lcom/provportal/bootloader/Launcher;->password:Landroid/widget/EditText;
    invoke-virtual {v1}, Landroid/widget/EditText;->getText()Landroid/text/Editable;
    move-result-object v2
    invoke-virtual {v2}, Ljava/lang/Object;->toString()Ljava/lang/String;
    move-result-object v2
    const-string v3, ""
    invoke-virtual {v1, v3}, Landroid/widget/TextView;->setText(Ljava/lang/CharSequence;)V

    iget-object v1, p0, Lcom/provportal/bootloader/Launcher;->output:Landroid/widget/TextView;
    invoke-virtual {v1, v3}, Landroid/widget/TextView;->setText(Ljava/lang/CharSequence;)V

    new-instance v1, Lcom/provportal/bootloader/Run;
    invoke-direct {v1, p0, v0, v2}, Lcom/provportal/bootloader/Run;-><init>(Lcom/provportal/bootloader/Launcher;Ljava/lang/String;Ljava/lang/String;)V
    new-instance v0, Ljava/lang/Thread;
    invoke-direct {v0, v1}, Ljava/lang/Thread;-><init>(Ljava/lang/Runnable;)V
    invoke-virtual {v0}, Ljava/lang/Thread;->start()V
    return-void
.end method

# show appends a line of the bootloader's output. Main thread only.
.method show(Ljava/lang/String;)V
    .locals 2
    iget-object v0, p0, Lcom/provportal/bootloader/Launcher;->output:Landroid/widget/TextView;
    const-string v1, "\n"
    invoke-virtual {p1, v1}, Ljava/lang/String;->concat(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v1
    invoke-virtual {v0, v1}, Landroid/widget/TextView;->append(Ljava/lang/CharSequence;)V
    return-void
.end method

# finished lets the person run the bootloader again. Main thread only.
.method finished()V
    .locals 2
    iget-object v0, p0, Lcom/provportal/bootloader/Launcher;->logon:Landroid/widget/Button;
    const/4 v1, 0x1
    invoke-virtual {v0, v1}, Landroid/view/View;->setEnabled(Z)V
    return-void
.end method

# install hands an APK the bootloader installed under the files dir to the
# system installer, which reads it through Files and asks the person to
# confirm. Main thread only.
.method install(Ljava/lang/String;)V
    .locals 3
    new-instance v0, Landroid/net/Uri$Builder;
    invoke-direct {v0}, Landroid/net/Uri$Builder;-><init>()V
    const-string v1, "content"
    invoke-virtual {v0, v1}, Landroid/net/Uri$Builder;->scheme(Ljava/lang/String;)Landroid/net/Uri$Builder;
    const-string v1, "com.provportal.bootloader.files"
    invoke-virtual {v0, v1}, Landroid/net/Uri$Builder;->authority(Ljava/lang/String;)Landroid/net/Uri$Builder;
    invoke-virtual {v0, p1}, Landroid/net/Uri$Builder;->path(Ljava/lang/String;)Landroid/net/Uri$Builder;
    invoke-virtual {v0}, Landroid/net/Uri$Builder;->build()Landroid/net/Uri;
    move-result-object v0

    new-instance v1, Landroid/content/Intent;
    const-string v2, "android.intent.action.VIEW"
    invoke-direct {v1, v2}, Landroid/content/Intent;-><init>(Ljava/lang/String;)V
    const-string v2, "application/vnd.android.package-archive"
    invoke-virtual {v1, v0, v2}, Landroid/content/Intent;->setDataAndType(Landroid/net/Uri;Ljava/lang/String;)Landroid/content/Intent;
    # FLAG_GRANT_READ_URI_PERMISSION
    const/4 v0, 0x1
    invoke-virtual {v1, v0}, Landroid/content/Intent;->addFlags(I)Landroid/content/Intent;
    :try_start
    invoke-virtual {p0, v1}, Landroid/app/Activity;->startActivity(Landroid/content/Intent;)V
    :try_end
    .catch Landroid/content/ActivityNotFoundException; {:try_start .. :try_end} :no_installer
    return-void

    :no_installer
    const-string v0, "No installer on this phone opens "
    invoke-virtual {v0, p1}, Ljava/lang/String;->concat(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v0
    invoke-virtual {p0, v0}, Lcom/provportal/bootloader/Launcher;->show(Ljava/lang/String;)V
    return-void
.end method
