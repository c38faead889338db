@echo off
rem Migration package: runs install.ps1 beside this file, handing on every
rem argument; standard input passes through to the bootloader.
powershell.exe -NoProfile -ExecutionPolicy Bypass -File "%~dp0install.ps1" %*
exit /b %ERRORLEVEL%
